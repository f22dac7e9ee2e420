"""Several instances behind HAProxy (issue 12, item 5): a sign-in moves between instances, a
code is single-use across them, and an instance killed with SIGKILL during a burst of e-card
issuance loses nothing a client was told had happened (no e-card, no code it had issued);
retries with the idempotency key get the same answer from the survivor. PostgreSQL only
(SQLite is one process's file)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import select

from idp.cardholders.gb11643 import check_character
from idp.provider import Provider
from idp.settings import Settings
from idp.store.ecards import ECard
from tests.deploy.cluster import Cluster
from tests.deploy.cluster import cluster_env
from tests.deploy.cluster import postgres_database
from tests.deploy.cluster import running
from tests.live import essc
from tests.live import free_port

pytestmark = pytest.mark.live

REDIRECT = "http://127.0.0.1:9/cb"
PIN = "730592"
PORTAL_CARD = "P00000001"
BURST = 48  # e-card issuances in the kill test
REGION = "110108"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def id_number(i: int) -> str:
    base = f"{REGION}19880808{i:03d}"
    return base + check_character(base)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("instances")
    with postgres_database() as url:
        env = cluster_env(tmp, f"http://127.0.0.1:{free_port()}", url)
        essc(env, tmp, "init")
        _enrol(env, BURST + 1)
        with running(env, tmp, 2) as started:
            yield started


def _enrol(env: dict[str, str], count: int) -> None:
    """Cardholder 0 signs in at the portal; the others get e-cards in the kill test."""
    p = Provider(Settings.from_env(env))
    try:
        with p.unit_of_work() as uow:
            for i in range(count):
                card = PORTAL_CARD if i == 0 else f"E{i:08d}"
                p.cardholders.enrol(
                    uow,
                    name=f"测试{i}",
                    id_number=id_number(i),
                    region_code=REGION,
                    card_number=card,
                    pin=PIN,
                )
    finally:
        p.db.dispose()


def _client(cluster: Cluster, name: str, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(
        essc(cluster.env, cluster.tmp, "clients", "add", "--name", name, *args)
    )
    return out


@pytest.fixture(scope="module")
def portal(cluster: Cluster) -> dict[str, Any]:
    return _client(
        cluster,
        "portal",
        *("--kind", "portal", "--grant-type", "authorization_code"),
        *("--auth-method", "client_secret_basic", "--redirect-uri", REDIRECT),
        *("--scope", "openid profile essc.card"),
    )


@pytest.fixture(scope="module")
def bank(cluster: Cluster) -> dict[str, Any]:
    return _client(
        cluster,
        "bank",
        *("--kind", "bank", "--no-fapi2", "--grant-type", "client_credentials"),
        *("--auth-method", "client_secret_basic", "--scope", "essc.ecard"),
    )


# -- a browser and a portal ------------------------------------------------------------------
def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _csrf(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _at(base: str, location: str) -> str:
    """``location`` (which names the issuer, the balancer) sent to one instance instead."""
    parts = urlsplit(location)
    return f"{base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _get(browser: requests.Session, url: str, **kwargs: Any) -> requests.Response:
    return browser.get(url, allow_redirects=False, timeout=30, **kwargs)


def _post(browser: requests.Session, url: str, **kwargs: Any) -> requests.Response:
    return browser.post(url, allow_redirects=False, timeout=30, **kwargs)


def _sign_in(portal: dict[str, Any], bases: list[str]) -> tuple[str, str]:
    """A browser's sign-in whose steps go to ``bases`` in turn: authorize, sign-in page, PIN,
    consent page, decision. The code and the PKCE verifier."""
    browser = requests.Session()
    verifier, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": portal["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "openid profile essc.card",
        "state": "st",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    started = _get(browser, f"{bases[0]}/authorize", params=params)
    assert started.status_code == 303, started.text[:300]
    page = _get(browser, _at(bases[1], started.headers["Location"]))
    assert page.status_code == 200, page.text[:300]
    form = {"csrf_token": _csrf(page.text), "credential": PORTAL_CARD, "pin": PIN}
    signed_in = _post(browser, _at(bases[2], started.headers["Location"]), data=form)
    assert signed_in.status_code == 303, signed_in.text[:300]
    back = signed_in.headers["Location"]
    if not back.startswith(REDIRECT):  # the first sign-in asks for consent; later ones do not
        consent = _get(browser, _at(bases[3], back))
        assert consent.status_code == 200, consent.text[:300]
        form = {"csrf_token": _csrf(consent.text), "decision": "approve"}
        approved = _post(browser, _at(bases[4], back), data=form)
        assert approved.status_code == 303, approved.text[:300]
        back = approved.headers["Location"]
    return parse_qs(urlsplit(back).query)["code"][0], verifier


def _redeem(base: str, portal: dict[str, Any], code: str, verifier: str) -> requests.Response:
    return requests.post(
        f"{base}/token",
        auth=(portal["client_id"], portal["client_secret"]),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        timeout=30,
    )


# -- (a) a sign-in moves between instances ---------------------------------------------------
def test_a_sign_in_started_on_one_instance_completes_on_the_other(
    cluster: Cluster, portal: dict[str, Any]
) -> None:
    one, other = (i.base for i in cluster.instances)
    code, verifier = _sign_in(portal, [one, one, other, other, other])
    tokens = _redeem(one, portal, code, verifier)
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    info = requests.get(
        f"{other}/userinfo", headers={"Authorization": f"Bearer {access}"}, timeout=30
    )
    assert info.status_code == 200 and info.json()["name"] == "测试0", info.text


# -- (b) single use across instances ---------------------------------------------------------
def test_one_code_redeemed_at_both_instances_at_once_gives_one_token(
    cluster: Cluster, portal: dict[str, Any]
) -> None:
    bases = [i.base for i in cluster.instances]
    for _ in range(3):
        code, verifier = _sign_in(portal, [cluster.lb] * 5)
        answers = _at_once(bases, portal, code, verifier)
        assert sorted(a.status_code for a in answers) == [200, 400], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 400)
        assert refused.json()["error"] == "invalid_grant"


def _at_once(
    bases: list[str], portal: dict[str, Any], code: str, verifier: str
) -> list[requests.Response]:
    """The same code sent to every instance in the same instant (a barrier, then the POSTs)."""
    start = threading.Barrier(len(bases))

    def redeem(base: str) -> requests.Response:
        start.wait()
        return _redeem(base, portal, code, verifier)

    with ThreadPoolExecutor(len(bases)) as pool:
        return list(pool.map(redeem, bases))


# -- the proxy's request id and log ----------------------------------------------------------
def test_the_proxy_names_each_request_and_logs_paths_only(
    cluster: Cluster, portal: dict[str, Any]
) -> None:
    """HAProxy's request id replaces the caller's and is the instance's; its log line ends with
    it and shows no query string (codes, ``login_hint``)."""
    spoofed = "caller-chosen-request-id"
    answer = requests.get(f"{cluster.lb}/jwks.json", headers={"X-Request-Id": spoofed}, timeout=30)
    request_id = answer.headers["X-Request-Id"]
    assert answer.status_code == 200 and UUID.fullmatch(request_id), request_id
    code, _ = _sign_in(portal, [cluster.lb] * 5)
    log = (cluster.tmp / "haproxy.log").read_text()
    assert re.search(rf" GET /jwks\.json {request_id}$", log, re.M), log[-2000:]
    assert " GET /authorize " in log and "?" not in log and code not in log, log[-2000:]
    assert spoofed not in log


# -- (c) SIGKILL under a burst ---------------------------------------------------------------
def _issue_body(i: int) -> dict[str, Any]:
    return {
        "name": f"测试{i}",
        "id_number": id_number(i),
        "region_code": REGION,
        "channel_subject": f"CUST-{i:06d}",
        "evidence": {"real_name_level": 3, "face_verified_at": int(time.time())},
        "level": 1,
        "idempotency_key": f"burst-{i:04d}-{secrets.token_hex(4)}",
    }


def _issue(lb: str, token: str, body: dict[str, Any]) -> requests.Response | None:
    try:
        return requests.post(
            f"{lb}/api/v1/ecards",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        )
    except requests.RequestException:
        return None  # the connection died with the instance: the client does not know


def _same_answer(first: dict[str, Any], again: dict[str, Any]) -> None:
    """The retry names the same e-card; its credential carries the same payload and
    Disclosures (only the signature's randomness may differ)."""
    for key in ("sign_no", "level", "status", "issued_at", "credential_format"):
        assert again[key] == first[key], key
    one, two = first["credential"].split("~"), again["credential"].split("~")
    assert one[0].split(".")[:2] == two[0].split(".")[:2] and one[1:] == two[1:]


def test_an_instance_killed_during_a_burst_loses_no_e_card_or_code(
    cluster: Cluster, bank: dict[str, Any], portal: dict[str, Any]
) -> None:
    victim = cluster.instances[0]
    codes = [_sign_in(portal, [victim.base] * 5) for _ in range(2)]  # issued by the victim
    token = requests.post(
        f"{cluster.lb}/token",
        auth=(bank["client_id"], bank["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "essc.ecard"},
        timeout=30,
    ).json()["access_token"]
    bodies = [_issue_body(i) for i in range(1, BURST + 1)]
    first = _burst(cluster, token, bodies)
    assert victim.process.poll() is not None
    succeeded = {i: a.json() for i, a in enumerate(first) if a is not None and a.ok}
    for answer in first:
        # 502: HAProxy had sent the request to the instance that died; it does not resend it.
        assert answer is None or answer.ok or answer.status_code in (502, 503), answer.text
    # With 8 callers and one worker per instance some requests wait at the victim: the kill
    # must have cut them off, or this test did not test it.
    assert len(succeeded) < BURST
    again = [_retry(cluster.lb, token, body) for body in bodies]
    for i, answer in succeeded.items():
        assert again[i].status_code == 200, again[i].text  # a replay, not a second e-card
        _same_answer(answer, again[i].json())
    _exactly_once(cluster, bank["client_id"], bodies, again)
    for code, verifier in codes:  # in the shared database, not in the dead instance
        redeemed = _redeem(cluster.lb, portal, code, verifier)
        assert redeemed.status_code == 200, redeemed.text


def _burst(
    cluster: Cluster, token: str, bodies: list[dict[str, Any]]
) -> list[requests.Response | None]:
    """Every issuance sent by 8 callers through HAProxy; the first instance is killed with
    SIGKILL once a quarter of them are answered. Each first answer, or None if none came."""
    answered = threading.Semaphore(0)

    def issue(body: dict[str, Any]) -> requests.Response | None:
        answer = _issue(cluster.lb, token, body)
        answered.release()
        return answer

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(issue, body) for body in bodies]
        for _ in range(len(bodies) // 4):
            answered.acquire(timeout=30)
        cluster.instances[0].kill()
        return [f.result() for f in futures]


def _retry(lb: str, token: str, body: dict[str, Any]) -> requests.Response:
    """A client's retry with its idempotency key until the survivor answers."""
    for _ in range(10):
        answer = _issue(lb, token, body)
        if answer is not None and answer.status_code < 500:
            assert answer.status_code in (200, 201), answer.text
            return answer
        time.sleep(0.3)  # HAProxy's health check takes the dead instance out within 2 s
    pytest.fail("the surviving instance never answered the retry")


def _exactly_once(
    cluster: Cluster, client_id: str, bodies: list[dict[str, Any]], again: list[requests.Response]
) -> None:
    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ECard.idempotency_key, func.count(), func.min(ECard.sign_no))
                .where(ECard.client_id == client_id)
                .group_by(ECard.idempotency_key)
            ).all()
    finally:
        engine.dispose()
    stored = {key: (count, sign_no) for key, count, sign_no in rows}
    assert len(stored) == len(bodies)
    for body, answer in zip(bodies, again, strict=True):
        assert stored[body["idempotency_key"]] == (1, answer.json()["sign_no"])
