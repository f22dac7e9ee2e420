"""The QR endpoints (docs/qr-token.md 7; OpenAPI in docs/qr-openapi.json, ``/qr/openapi.json``).

- ``POST /api/v1/ecards/{sign_no}/qr-codes``: a channel, authenticated as for the e-card API
  (client credentials token, its native signature, or mTLS), asks codes for one of its e-cards.
- ``POST /api/v1/me/qr-codes``: the same with the cardholder's own access token (scope
  ``essc.ecard``), for the e-card the token's channel holds.
- ``GET /qr/render.svg`` and ``/qr/render.png?code=...``: a code of ours as a picture (segno).
- ``GET /qr/jwks.json`` and ``/qr/status-list``: what offline verifiers fetch.
- ``GET /qr/openapi.json``: the OpenAPI document of these (``idp.qr.openapi``).

Refusals are RFC 7807 problem JSON (the user-token endpoint answers bearer errors as RFC 6750).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from sqlalchemy import select

from idp.ecards import service as ecards
from idp.ecards import views as ecards_views
from idp.errors import InsufficientScope
from idp.errors import InvalidToken
from idp.errors import Problem
from idp.http.http import MalformedJson
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.http.http import read_json
from idp.http.userinfo import access_token_claims
from idp.qr import openapi
from idp.qr import render
from idp.qr.paths import CARDHOLDER_PATH
from idp.qr.paths import JWKS_PATH
from idp.qr.paths import OPENAPI_PATH
from idp.qr.paths import RENDER_PNG_PATH
from idp.qr.paths import RENDER_SVG_PATH
from idp.qr.paths import STATUS_LIST_PATH
from idp.qr.requests import parse_issue
from idp.qr.service import IssuedCode
from idp.qr.token import QrTokenError
from idp.store.ecards import ECard
from idp.store.token_store import SqlTokenStore

ECARD_SCOPE = "essc.ecard"
MAX_BODY = 4096
bp = Blueprint("qr", __name__)
#: Channel calls get the e-card API's problem rendering and response signing.
bp.errorhandler(Problem)(ecards_views.on_problem)
bp.after_request(ecards_views.sign_response)


def _body() -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise Problem(413, "body-too-large", "The request body is too large")
    return request.get_data(cache=True)[: MAX_BODY + 1]


def _json(document: str | None, body: bytes) -> Any:
    if document is not None:
        body = document.encode("utf-8")
    elif request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Send the body as application/json")
    try:
        return read_json(body)
    except MalformedJson as exc:
        raise Problem(400, "malformed-json", "The request body is not JSON", exc.reason) from None


def _answer(issued: list[IssuedCode]) -> Response:
    p = provider()
    return oauth_json(
        {
            "codes": [c.as_json() for c in issued],
            "jwks_uri": p.issuer + JWKS_PATH,
            "status_list_uri": p.qr.status_list_uri,
        },
        201,
    )


@bp.post("/api/v1/ecards/<sign_no>/qr-codes")  # paths.CHANNEL_PATH
def issue_for_ecard(sign_no: str) -> Response:
    p, body = provider(), _body()
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        caller = ecards_views.authenticate(uow.session, p, body)
        wanted = parse_issue(_json(caller.document, body))
        ecard = ecards.find_own(uow, caller.channel, sign_no)
        issued = p.qr.issue_batch(
            uow.session,
            ecard,
            wanted.purpose,
            wanted.count,
            client_id=caller.channel.client_id,
            request_id=uow.request_id,
        )
    return _answer(issued)


@bp.post(CARDHOLDER_PATH)
def issue_for_cardholder() -> Response:
    p = provider()
    claims = access_token_claims()
    if ECARD_SCOPE not in str(claims.get("scope", "")).split():
        raise InsufficientScope("the token lacks the essc.ecard scope")
    wanted = parse_issue(_json(None, _body()))
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        session = uow.session
        grant = p.access_token_verifier.grant_of(claims, SqlTokenStore(session, now=p.now()))
        if grant is None:
            raise InvalidToken("the token was not issued to a cardholder")
        client_id = str(claims["client_id"])
        ecard = session.scalar(
            select(ECard).where(
                ECard.person_id == grant.person_id,
                ECard.client_id == client_id,
                ECard.status == "active",
            )
        )
        if ecard is None:
            raise Problem(404, "ecard-not-found", "The cardholder has no e-card in this channel")
        issued = p.qr.issue_batch(
            session, ecard, wanted.purpose, wanted.count, request_id=uow.request_id
        )
    return _answer(issued)


# -- pictures --------------------------------------------------------------------------------
def _our_code() -> str:
    """The ``code`` query parameter, if it is a code our keys signed (expired or not): the
    endpoint draws the platform's codes, not anything anyone sends."""
    values = request.args.getlist("code")
    if len(values) != 1 or len(values[0]) > 200:
        raise Problem(400, "invalid-request", "Send exactly one code", field="code")
    try:
        render.check_signed(provider().qr.verifier, values[0])
    except QrTokenError as exc:
        raise Problem(
            422, "invalid-code", "This is not a QR code of this platform", reason=exc.reason
        ) from None
    return values[0]


def _scale() -> int:
    raw = request.args.get("scale", "4")
    if not raw.isdigit() or not 1 <= int(raw) <= render.MAX_SCALE:
        raise Problem(400, "invalid-request", f"scale must be 1 to {render.MAX_SCALE}")
    return int(raw)


@bp.get(RENDER_SVG_PATH)
def render_svg() -> Response:
    svg = render.svg(_our_code(), _scale())
    return Response(svg, 200, {"Cache-Control": "no-store"}, mimetype="image/svg+xml")


@bp.get(RENDER_PNG_PATH)
def render_png() -> Response:
    png = render.png(_our_code(), _scale())
    return Response(png, 200, {"Cache-Control": "no-store"}, mimetype="image/png")


# -- what verifiers fetch --------------------------------------------------------------------
@bp.get(JWKS_PATH)
def jwks() -> Response:
    response = oauth_json(provider().qr.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get(STATUS_LIST_PATH)
def status_list() -> Response:
    p = provider()
    with p.db.read() as session:
        token = p.qr.status_list_jwt(session)
    headers = {"Cache-Control": f"public, max-age={p.qr.status_list_ttl}"}
    return Response(token, 200, headers, mimetype="application/statuslist+jwt")


@bp.get(OPENAPI_PATH)
def openapi_json() -> Response:
    return Response(openapi.render(), mimetype="application/json")
