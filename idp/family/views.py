"""The family API for channels (docs/family.md; OpenAPI at ``/family/openapi.json``).

- ``POST /api/v1/family/relationships``: the agent (their own access token, scope
  ``essc.ecard``) asks to act for a principal.
- ``GET /api/v1/family/relationships``: the caller's relationships, as agent and as principal.
- ``POST /api/v1/family/relationships/{id}/consent``: the principal consents in their own
  channel (a channel assertion for their e-card and their PIN, in the body).
- ``POST /api/v1/family/relationships/{id}/end``: either side ends it.
- ``GET /api/v1/family/history``: what relatives did for the caller, in plain language.
- ``GET /api/v1/family/acting/card``: with a delegated token (power ``view_card``), the
  principal's card status.
- ``POST /api/v1/family/acting/qr-codes``: with a delegated token (``show_identity_code``,
  ``show_medical_code``, or ``pay`` for payment codes), the principal's QR codes.
- ``GET /api/v1/family/acting/benefits``: with a delegated token (``query_benefits``), the
  principal's pension certification and payments, masked (``idp.family.benefits``).

Refusals are RFC 7807 problems; token refusals are RFC 6750 errors with ``WWW-Authenticate``.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from sqlalchemy import select

from idp.cardholders.gb11643 import mask_card_number
from idp.errors import InsufficientScope
from idp.errors import InvalidToken
from idp.errors import Problem
from idp.events.audit import record_event
from idp.family import benefits as benefits_power
from idp.family import openapi
from idp.family.formats import parse_add
from idp.family.formats import parse_consent
from idp.family.history import history
from idp.family.history import mask_name
from idp.family.service import not_found
from idp.family.service import usable_card
from idp.http.http import MalformedJson
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.http.http import read_json
from idp.http.userinfo import access_token_claims
from idp.oauth.grants.token_exchange import power_scope
from idp.oauth.storage import DelegationRecord
from idp.qr.paths import JWKS_PATH
from idp.qr.requests import parse_issue as parse_qr
from idp.qr.token import Purpose
from idp.store.ecards import ECard
from idp.store.family import FamilyRelationship
from idp.store.people import Person
from idp.store.token_store import SqlTokenStore
from idp.store.unit_of_work import UnitOfWork

PREFIX = "/api/v1/family"
OWN_SCOPE = "essc.ecard"
MAX_BODY = 8192
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
bp = Blueprint("family", __name__)


def _body() -> Any:
    if (request.content_length or 0) > MAX_BODY:
        raise Problem(413, "body-too-large", "The request body is too large")
    if request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Send the body as application/json")
    raw = request.get_data(cache=True)[: MAX_BODY + 1]
    if len(raw) > MAX_BODY:
        raise Problem(413, "body-too-large", "The request body is too large")
    try:
        return read_json(raw)
    except MalformedJson as exc:
        raise Problem(400, "malformed-json", "The request body is not JSON", exc.reason) from None


def _relationship_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise not_found()
    return value


def _cardholder(uow: UnitOfWork, claims: dict[str, Any]) -> str:
    """The person behind the caller's own token (a delegated token is not one: no chaining)."""
    if OWN_SCOPE not in str(claims.get("scope", "")).split():
        raise InsufficientScope("the token lacks the essc.ecard scope")
    p = provider()
    grant = p.access_token_verifier.grant_of(claims, SqlTokenStore(uow.session, now=p.now()))
    if grant is None:
        raise InvalidToken("the token was not issued to a cardholder")
    return grant.person_id


def _view(row: FamilyRelationship, viewer: str, client_id: str, names: dict[str, str]) -> Any:
    p = provider()
    client = p.clients.get(client_id)
    as_agent = row.agent_id == viewer
    other = row.principal_id if as_agent else row.agent_id
    view: dict[str, Any] = {
        "id": row.id,
        "state": row.state,
        "side": "agent" if as_agent else "principal",
        "relationship": row.relationship,
        "requested_powers": row.requested_powers,
        "powers": row.powers,
        "minor": row.minor,
        "requested_at": row.requested_at,
        "expires_at": row.expires_at,
        "consented_at": row.consented_at,
        "consent_method": row.consent_method,
        "counterpart": {"name": mask_name(names.get(other, ""))},
    }
    if as_agent and client is not None:
        # RFC 8693 request parameter ``principal``: the principal's pairwise sub here.
        view["principal_ref"] = p.token_services.subject(client, row.principal_id)
    return view


def _names(uow: UnitOfWork, *ids: str) -> dict[str, str]:
    return {i: person.name for i in set(ids) if (person := uow.session.get(Person, i))}


@bp.post(PREFIX + "/relationships")
def add_relationship() -> Response:
    p = provider()
    claims = access_token_claims()
    wanted = parse_add(_body())
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        agent = _cardholder(uow, claims)
        client_id = str(claims["client_id"])
        row = p.family.request(uow, agent, client_id, wanted)
        body = _view(row, agent, client_id, _names(uow, row.principal_id))
    return oauth_json(body, 201)


@bp.get(PREFIX + "/relationships")
def list_relationships() -> Response:
    p = provider()
    claims = access_token_claims()
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        person = _cardholder(uow, claims)
        rows = p.family.live_of(uow, person)
        names = _names(uow, *(i for r in rows for i in (r.agent_id, r.principal_id)))
        views = [_view(r, person, str(claims["client_id"]), names) for r in rows]
    return oauth_json(
        {
            "as_agent": [v for v in views if v["side"] == "agent"],
            "as_principal": [v for v in views if v["side"] == "principal"],
        }
    )


@bp.post(PREFIX + "/relationships/<relationship_id>/consent")
def consent(relationship_id: str) -> Response:
    p = provider()
    relationship_id = _relationship_id(relationship_id)
    given = parse_consent(_body())
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        row = p.family.consent_in_channel(uow, relationship_id, given)
        body = _view(row, row.principal_id, row.client_id, _names(uow, row.agent_id))
    return oauth_json(body)


@bp.post(PREFIX + "/relationships/<relationship_id>/end")
def end(relationship_id: str) -> Response:
    p = provider()
    claims = access_token_claims()
    relationship_id = _relationship_id(relationship_id)
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        person = _cardholder(uow, claims)
        p.family.end(uow, relationship_id, person)
    return oauth_json({"id": relationship_id, "state": "ended"})


@bp.get(PREFIX + "/history")
def principal_history() -> Response:
    p = provider()
    claims = access_token_claims()
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        person = _cardholder(uow, claims)
        events = history(uow.session, person)
    return oauth_json({"events": events})


def _delegated(uow: UnitOfWork, claims: dict[str, Any], power: str) -> DelegationRecord:
    """The live relationship behind a delegated token that carries ``power``."""
    if "fid" not in claims:
        raise InvalidToken("the token is not a delegated token")
    if power_scope(power) not in str(claims.get("scope", "")).split():
        raise InsufficientScope("the token lacks the power for this")
    p = provider()
    found = p.access_token_verifier.delegation_of(claims, SqlTokenStore(uow.session, now=p.now()))
    if power not in found.powers:  # consent never widens, but read what stands now
        raise InsufficientScope("the token lacks the power for this")
    return found


@bp.get(PREFIX + "/acting/card")
def acting_card() -> Response:
    p = provider()
    claims = access_token_claims()
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        found = _delegated(uow, claims, "view_card")
        card = usable_card(uow, found.principal_id, p.now())
        if card is None:
            raise Problem(409, "card-not-usable", "The principal's card is not usable")
        _acted(uow, found, str(claims["client_id"]), "family.card_viewed")
        body = {
            "card_number": mask_card_number(card.card_number),
            "status": "normal",
            "region_code": card.region_code,
            "production_stage": card.production_stage,
            "acting_for": claims["sub"],
        }
    return oauth_json(body)


#: Which power a code of each purpose needs; transit codes are not delegated.
CODE_POWERS = {
    Purpose.IDENTITY: "show_identity_code",
    Purpose.MEDICAL: "show_medical_code",
    Purpose.PAYMENT: "pay",
}


def _ecard_of(uow: UnitOfWork, person_id: str, client_id: str) -> ECard | None:
    """The person's active e-card in this channel, else their newest active one elsewhere."""
    found = uow.session.scalars(
        select(ECard)
        .where(ECard.person_id == person_id, ECard.status == "active")
        .order_by(ECard.issued_at.desc())
    ).all()
    return next((e for e in found if e.client_id == client_id), found[0] if found else None)


@bp.post(PREFIX + "/acting/qr-codes")
def acting_qr_codes() -> Response:
    """The principal's codes, shown by the agent: each row names the agent's e-card
    (``actor_sign_no``) and the relationship, so ending it revokes them (docs/family.md)."""
    p = provider()
    claims = access_token_claims()
    wanted = parse_qr(_body())
    power = CODE_POWERS.get(wanted.purpose)
    if power is None:
        raise Problem(422, "invalid-request", "This purpose is not delegated", field="purpose")
    client_id = str(claims["client_id"])
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        found = _delegated(uow, claims, power)
        ecard = _ecard_of(uow, found.principal_id, client_id)
        if ecard is None:
            raise Problem(404, "ecard-not-found", "The principal has no active e-card")
        actor = _ecard_of(uow, found.agent_id, client_id)
        issued = p.qr.issue_batch(
            uow.session,
            ecard,
            wanted.purpose,
            wanted.count,
            client_id=client_id,
            request_id=uow.request_id,
            actor_sign_no=actor.sign_no if actor is not None else None,
            relationship_id=found.id,
        )
        _acted(uow, found, client_id, "family.code_shown", purpose=wanted.purpose.value)
        body = {
            "codes": [c.as_json() for c in issued],
            "jwks_uri": p.issuer + JWKS_PATH,
            "status_list_uri": p.qr.status_list_uri,
            "acting_for": claims["sub"],
        }
    return oauth_json(body, 201)


@bp.get(PREFIX + "/acting/benefits")
def acting_benefits() -> Response:
    """RFC 7807 throughout: the token must be a relative's, with the power, still standing."""
    p = provider()
    claims = access_token_claims()
    with p.unit_of_work(request_id=g.get("request_id")) as uow:
        found = _with_power(uow, claims, benefits_power.POWER)
        body = benefits_power.benefits(uow, p.pension, found.principal_id, p.now())
        _acted(uow, found, str(claims["client_id"]), "family.benefits_queried")
    return oauth_json({**body, "acting_for": claims["sub"]})


def _with_power(uow: UnitOfWork, claims: dict[str, Any], power: str) -> DelegationRecord:
    """As ``_delegated``, with the refusals as problems (the pension API's, docs/family.md)."""
    if "fid" not in claims:
        raise Problem(403, "not-delegated", "This API takes a relative's delegated token")
    if power_scope(power) not in str(claims.get("scope", "")).split():
        raise Problem(403, "no-power", "You may not do this for them")
    p = provider()
    try:
        found = p.access_token_verifier.delegation_of(
            claims, SqlTokenStore(uow.session, now=p.now())
        )
    except InvalidToken:
        raise Problem(403, "relationship-ended", "The relationship has ended") from None
    if power not in found.powers:
        raise Problem(403, "no-power", "You may not do this for them")
    return found


def _acted(
    uow: UnitOfWork, found: DelegationRecord, client_id: str, event: str, **detail: Any
) -> None:
    record_event(
        uow.session,
        event,
        at=provider().now(),
        person_id=found.principal_id,
        client_id=client_id,
        request_id=uow.request_id,
        agent=found.agent_id,
        relationship_id=found.id,
        relationship=found.relationship,
        **detail,
    )


@bp.get("/family/openapi.json")
def openapi_json() -> Response:
    return Response(openapi.render(), mimetype="application/json")
