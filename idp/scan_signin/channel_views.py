"""The channel API of scan-to-sign-in under ``/api/v1/scan-signin`` (docs/scan-signin.md "Channel
API"): the channel app reports a scan, then approves or denies, each call carrying a fresh
channel assertion (docs/channel-assertion.md) that authenticates the channel and its user.

Views only translate HTTP: every refusal is RFC 7807 problem JSON with a fixed title; the
reason goes to the log. A wrong number commits the denial before the 403 leaves.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from idp.errors import Problem
from idp.http.http import MalformedJson
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.http.http import read_json
from idp.scan_signin import formats
from idp.scan_signin import openapi
from idp.scan_signin.service import Decision
from idp.scan_signin.transitions import Refused

log = logging.getLogger("essc.idp")
bp = Blueprint("scan_signin_api", __name__, url_prefix="/api/v1/scan-signin")
TITLES = {
    "invalid-request": "The request is not valid",
    "malformed-json": "The request body is not JSON",
    "assertion-rejected": "The channel assertion was refused",
    "scan-request-not-found": "No such sign-in request",
    "scan-request-expired": "The sign-in request has expired",
    "scan-request-decided": "The sign-in request was already decided",
    "scan-request-scanned": "The sign-in request was already scanned",
    "scan-request-not-scanned": "The sign-in request has not been scanned",
    "scan-request-other-user": "Another user scanned this sign-in request",
    "wrong-number": "The number does not match the one on the PC; the sign-in is denied",
}


def _body() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Send the body as application/json")
    try:
        parsed = read_json(request.get_data(cache=True))
    except RequestEntityTooLarge:
        raise Problem(413, "body-too-large", "The request body is too large") from None
    except MalformedJson as exc:
        log.info("scan-signin body refused: %s [%s]", exc.reason, g.request_id)
        raise Problem(400, "malformed-json", TITLES["malformed-json"]) from None
    if not isinstance(parsed, dict):
        raise Problem(400, "invalid-request", TITLES["invalid-request"])
    return parsed


def _problem(refused: Refused) -> Problem:
    log.info("scan-signin refused: %s [%s]", refused.reason, g.request_id)
    return Problem(refused.status, refused.slug, TITLES.get(refused.slug, "Refused"))


def _phone() -> str:
    return formats.network_of(request.remote_addr)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(openapi.render(), mimetype="application/json")


@bp.post("/scan")
def scan() -> Response:
    """The phone scanned a QR: what to show the citizen, and the three numbers."""
    body, p = _body(), provider()
    try:
        with p.unit_of_work(g.request_id) as uow:
            ref_hash = p.scan_signin.reference(body.get("request"))
            holder = p.scan_signin.holder(uow, body.get("assertion"), p.now())
            found = p.scan_signin.scan(uow, ref_hash, holder, _phone(), p.now())
    except Refused as refused:
        raise _problem(refused) from None
    client = p.clients.get(found.client_id)
    answer = {
        "state": "scanned",
        "portal": {"client_id": found.client_id, "name": client.name if client else ""},
        "pc": {
            "network": found.pc_network,
            "location": p.scan_signin.regions.locate(found.pc_network),
            "requested_at": found.created_at,
        },
        "expires_at": found.expires_at,
        "choices": found.choices,
        "far_from_pc": found.far_from_pc,
    }
    return oauth_json(answer, 200)


@bp.post("/approve")
def approve() -> Response:
    body = _body()
    number = formats.parse_number(body.get("number"))
    if number is None:
        raise Problem(400, "invalid-request", TITLES["invalid-request"])
    return _decide(body, number)


@bp.post("/deny")
def deny() -> Response:
    return _decide(_body(), None)


def _decide(body: dict[str, Any], number: int | None) -> Response:
    p = provider()
    try:
        with p.unit_of_work(g.request_id) as uow:
            ref_hash = p.scan_signin.reference(body.get("request"))
            holder = p.scan_signin.holder(uow, body.get("assertion"), p.now())
            s = p.scan_signin
            decision: Decision = (
                s.deny(uow, ref_hash, holder, _phone(), p.now())
                if number is None
                else s.approve(uow, ref_hash, holder, number, _phone(), p.now())
            )
    except Refused as refused:
        raise _problem(refused) from None
    if decision.reason == "wrong_number":  # committed as denied above
        raise Problem(403, "wrong-number", TITLES["wrong-number"], state="denied")
    return oauth_json({"state": decision.state, "far_from_pc": decision.far_from_pc}, 200)


@bp.errorhandler(Problem)
def on_problem(problem: Problem) -> Response:
    body = problem.body(provider().issuer)
    body["request_id"] = g.get("request_id", "")
    response = oauth_json(body, problem.status)
    response.content_type = "application/problem+json"
    return response
