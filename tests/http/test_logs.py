"""The product's JSON log lines (idp.http.logs.log_json, as idp.wsgi installs them): one object
per line, each with the id of the request it was written for, and never an ID number, a PIN, a
secret, a code or a token, over a whole e-card issuance and sign-in."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from idp.http.logs import PRODUCT_LOGGERS
from idp.http.logs import log_json
from idp.provider import Provider
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import issue_body
from tests.support import CARD
from tests.support import approve
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import sign_in


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    saved = [
        (logging.getLogger(n), list(logging.getLogger(n).handlers), logging.getLogger(n).level)
        for n in PRODUCT_LOGGERS
    ]
    propagate = {n: logging.getLogger(n).propagate for n in PRODUCT_LOGGERS}
    stream = io.StringIO()
    log_json(stream, level=logging.DEBUG)
    yield stream
    for logger, handlers, level in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate[logger.name]


class Recorder:
    """Keeps every response's request id (all calls of ``web`` go through it) and every
    secret the flow saw."""

    def __init__(self, web: Any) -> None:
        self.web = web
        self.request_ids: set[str] = set()
        self.secrets: dict[str, str] = {"ID number": CARD["id_number"], "PIN": CARD["pin"]}
        opened = web.open

        def recorded(*args: Any, **kwargs: Any) -> Any:
            response = opened(*args, **kwargs)
            self.request_ids.add(response.headers["X-Request-Id"])
            return response

        web.open = recorded

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.web.open(path, method=method, **kwargs)


def test_every_line_has_its_request_id_and_no_secret(
    web: Any, provider: Provider, portal: Any, cardholder: dict[str, str], json_log: io.StringIO
) -> None:
    call = Recorder(web)
    call.secrets["portal secret"] = portal.client_secret
    bank = add_channel(provider, "bank")
    call.secrets["bank secret"] = bank.client_secret
    token = call(
        "POST",
        "/token",
        data={"grant_type": "client_credentials", "scope": "essc.ecard"},
        headers=basic(bank.client_id, bank.client_secret),
    ).json["access_token"]
    call.secrets["bank token"] = token
    issued = call(
        "POST",
        "/api/v1/ecards",
        json=issue_body(provider, "bank"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert issued.status_code == 201, issued.get_data(as_text=True)

    # Sign-in with the ID number as login_hint, one wrong PIN first.
    verifier, challenge = pkce_pair()
    start = call(
        "GET",
        "/authorize",
        query_string=authorize_params(portal, challenge, login_hint=CARD["id_number"]),
    )
    location = start.headers["Location"]
    assert sign_in(web, location, pin="999999").status_code == 401
    signed = sign_in(web, location)
    assert signed.status_code == 303
    done = approve(web, signed.headers["Location"])
    code = query_of(done.headers["Location"])["code"]
    call.secrets["code"] = code
    tokens = exchange(web, portal, code, verifier).json
    for name in ("access_token", "refresh_token", "id_token"):
        call.secrets[name] = tokens[name]
    # Failures that the product logs, carrying the code and token back in.
    call(
        "POST",
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": verifier,
        },
        headers=basic(portal.client_id, portal.client_secret),
    )
    call("GET", "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}x"})
    call("GET", f"/userinfo?access_token={tokens['access_token']}&id={CARD['id_number']}")
    logging.getLogger("essc.idp").info("outside any request: %s", CARD["id_number"])

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    inside = [line for line in lines if not line["message"].startswith("outside any request")]
    assert len(inside) >= 2, lines
    for line in inside:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
        assert line["request_id"] in call.request_ids, line
    assert lines[-1]["request_id"] is None
    text = json_log.getvalue()
    for name, secret in call.secrets.items():
        assert secret not in text and secret.lower() not in text.lower(), name
