"""The pension eligibility certification API (docs/family.md "Pension eligibility
certification"; OpenAPI in ``/family/openapi.json``).

- ``POST /api/v1/pension/certifications``: certify, with the pensioner's fresh face assertion
  in the body, sent with the pensioner's own token (``essc.ecard``) or a relative's delegated
  token carrying ``essc.family.pension_certification``.
- ``GET /api/v1/pension/certification``: the pensioner's state, with either token.
- ``POST /api/v1/pension/status``: the pension service (a client credentials token with
  ``essc.pension.read``) reads a person's state by their ID number, sent in the body.

Refusals of the certification are RFC 7807 problems; a token that does not verify at all is an
RFC 6750 error with ``WWW-Authenticate``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request

from channels.kinds import PENSION_READ_SCOPE
from idp.channel_auth import authenticate as channel_auth
from idp.errors import InvalidToken
from idp.errors import Problem
from idp.family.pension import Standing
from idp.family.pension_formats import parse_certify
from idp.family.pension_formats import parse_lookup
from idp.family.pension_rules import POWER
from idp.family.views import _body
from idp.family.views import _cardholder
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.http.userinfo import access_token_claims
from idp.http.userinfo import checked_claims
from idp.oauth.grants.token_exchange import power_scope
from idp.oauth.storage import DelegationRecord
from idp.store.token_store import SqlTokenStore
from idp.store.unit_of_work import UnitOfWork

PREFIX = "/api/v1/pension"
bp = Blueprint("pension", __name__)


def _caller(uow: UnitOfWork, claims: dict[str, Any]) -> tuple[str, DelegationRecord | None]:
    """The pensioner the token speaks for, and the relationship when a relative holds it."""
    if "fid" not in claims:
        return _cardholder(uow, claims), None
    if power_scope(POWER) not in str(claims.get("scope", "")).split():
        raise Problem(403, "no-power", "You may not do the pension certification for them")
    p = provider()
    try:
        found = p.access_token_verifier.delegation_of(
            claims, SqlTokenStore(uow.session, now=p.now())
        )
    except InvalidToken:
        raise Problem(403, "relationship-ended", "The relationship has ended") from None
    if POWER not in found.powers:
        raise Problem(403, "no-power", "You may not do the pension certification for them")
    return found.principal_id, found


def _view(standing: Standing) -> dict[str, Any]:
    row = standing.row
    body: dict[str, Any] = {"state": standing.state.value}
    if row is not None:
        body |= {
            "id": row.id,
            "certified_at": row.certified_at,
            "valid_until": row.valid_until,
            "method": row.method,
        }
    return body


@bp.post(PREFIX + "/certifications")
def certify() -> Response:
    p = provider()
    claims = access_token_claims()
    assertion = parse_certify(_body())
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        person, by = _caller(uow, claims)
        standing = p.pension.certify(uow, person, str(claims["client_id"]), assertion, by)
        body = _view(standing)
    return oauth_json(body, 201 if standing.created else 200)


@bp.get(PREFIX + "/certification")
def own_state() -> Response:
    p = provider()
    claims = access_token_claims()
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        person, _ = _caller(uow, claims)
        body = _view(p.pension.standing(uow, person))
    return oauth_json(body)


@bp.post(PREFIX + "/status")
def service_status() -> Response:
    p = provider()
    header = request.headers.get("Authorization")
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        channel = None
        if header is not None:
            channel = channel_auth.from_bearer(
                uow.session, header, checked_claims, scope=PENSION_READ_SCOPE
            )
        if channel is None:
            raise channel_auth.unauthorized("malformed", "Use a Bearer token.")
        id_number = parse_lookup(_body())
        found = p.cardholders.find_by_credential(uow.session, id_number)
        if found is None:
            raise Problem(404, "person-not-found", "No cardholder with this ID number")
        body = _view(p.pension.standing(uow, found.id))
    return oauth_json(body)
