"""The channel e-card API under ``/api/v1``: issue, query and unbind (issue 3, sections 3 and 6),
and suspend or resume the card behind an e-card on the cardholder's behalf (issue 6).

Views only translate HTTP: read the body (size-capped), authenticate the channel
(``idp.channel_auth.authenticate``: a header, a signed form whose ``biz_content`` is the JSON
request, or a forwarded client certificate), check the media type, parse
(``idp.ecards.requests``) and call ``idp.ecards.service`` inside the request's one unit of work
(``Provider.unit_of_work``). Every refusal is
RFC 7807 problem JSON, except to an Alipay gateway-form caller, which gets Alipay's signed
envelope (``idp.channel_auth.alipay_gateway``).
Documented in ``docs/openapi.json`` (served at ``/openapi.json``) and ``docs/ecards.md``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import TooManyRequests

from channels.signing import ALIPAY_RSA2
from channels.signing import ChannelRequest
from idp.channel_auth import alipay_gateway
from idp.channel_auth import authenticate as channel_auth
from idp.channel_auth import responses as channel_responses
from idp.channel_auth.caller import Channel
from idp.ecards.requests import parse_card_change
from idp.ecards.requests import parse_issue
from idp.ecards.requests import parse_unbind
from idp.errors import Problem
from idp.http.http import MalformedJson
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.http.http import read_json
from idp.http.userinfo import checked_claims
from idp.http.userinfo import forwarded_certificate
from idp.provider import Provider
from idp.store.unit_of_work import UnitOfWork

PREFIX = "/api/v1"
FORM = "application/x-www-form-urlencoded"
bp = Blueprint("ecards_api", __name__, url_prefix=PREFIX)


def _raw_body() -> bytes:
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise Problem(413, "body-too-large", "The request body is too large") from None


def _target() -> str:
    """The request-target as sent (the native schemes sign it byte for byte)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    query = request.query_string.decode("latin-1")
    return request.script_root + request.path + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Caller:
    """The authenticated channel and, for a form-signed request, its JSON from ``biz_content``."""

    channel: Channel
    document: str | None = None


def _parse_form(raw: bytes) -> dict[str, str]:
    """Strict ``application/x-www-form-urlencoded``: percent-encoded UTF-8, each field once."""
    try:
        pairs = parse_qsl(
            raw.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=64,
        )
    except ValueError:  # also UnicodeError: the form must be percent-encoded UTF-8
        raise channel_auth.unauthorized("malformed", "The signed form is malformed.") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise channel_auth.unauthorized("malformed", "The signed form repeats a field.")
    return params


def _form_params(body: bytes) -> dict[str, str] | None:
    """The fields of a form-signed request: the query of a GET; query and form body of a POST.

    Parsed strictly from the raw bytes because the signature covers exactly these values. A
    POST's fields may be split between the query and the body as Alipay's gateway accepts them
    (alipay-sdk ``exec`` sends ``app_id``, ``sign``, ``timestamp``... in the URL and the
    business fields in the body); the signature covers the union, and a field in both places is
    ``malformed``, never one copy chosen over the other.
    """
    query = _parse_form(request.query_string) if request.query_string else {}
    if request.method == "GET":
        return query or None
    if request.mimetype != FORM:
        return None
    form = _parse_form(body) if body else {}
    if query.keys() & form.keys():
        raise channel_auth.unauthorized("malformed", "A field is both in the query and the body.")
    return {**query, **form} or None


def authenticate(session: Session, p: Provider, body: bytes) -> Caller:
    """The calling channel, counted against its rate limit (idp.ratelimit) once known."""
    caller = _authenticate(session, p, body)
    limit_client(p, caller.channel.client_id)
    return caller


def limit_client(p: Provider, client_id: str) -> None:
    """429 with ``Retry-After`` (problem JSON) for a client past its limit on this path."""
    seconds = p.rate_limits.client_retry_after(request.path, client_id)
    if seconds is not None:
        raise TooManyRequests(retry_after=seconds)


def _authenticate(session: Session, p: Provider, body: bytes) -> Caller:
    """Authorization header first, then a signed form, then a forwarded client certificate."""
    header = request.headers.get("Authorization")
    if header is not None:
        bearer = channel_auth.from_bearer(session, header, checked_claims)
        if bearer is not None:
            return Caller(bearer)
        signed = ChannelRequest(request.method, _target(), dict(request.headers), body)
        return Caller(
            channel_auth.from_signature(session, signed, clock=p.clock, nonces=p.channel_nonces)
        )
    params = _form_params(body)
    claimed = channel_auth.claimed_form_scheme(params) if params is not None else None
    if params is not None and claimed is not None:
        gateway = claimed[0] == ALIPAY_RSA2.name and alipay_gateway.is_gateway_call(params)
        if gateway:  # from here on, even a refusal is answered in Alipay's gateway envelope
            g.alipay_gateway = alipay_gateway.call_of(params)
        signed = ChannelRequest(request.method, _target(), dict(request.headers), body, params)
        path = request.script_root + request.path
        channel, document = channel_auth.from_form(
            session, signed, path, clock=p.clock, nonces=p.channel_nonces
        )
        wrong_method = alipay_gateway.wrong_method(request.endpoint, params) if gateway else None
        if wrong_method is not None:
            raise wrong_method
        return Caller(channel, document)
    # Only the header a trusted proxy sent (ESSC_TLS_CLIENT_CERT_HEADER, _PROXIES).
    forwarded = forwarded_certificate()
    if forwarded is not None:
        return Caller(channel_auth.from_certificate(session, forwarded))
    raise Problem(401, "unauthorized", "The channel is not authenticated", reason="no_credentials")


def _json(caller: Caller, body: bytes) -> Any:
    if caller.document is not None:
        body = caller.document.encode("utf-8")
    elif request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Send the body as application/json")
    try:
        return read_json(body)
    except MalformedJson as exc:
        raise Problem(400, "malformed-json", "The request body is not JSON", exc.reason) from None


@bp.errorhandler(Problem)
def on_problem(problem: Problem) -> Response:
    """As the app renders problems, plus the challenge a 401 must carry (RFC 9110 11.6.1)."""
    body = problem.body(provider().issuer)
    body["request_id"] = g.get("request_id", "")
    response = oauth_json(body, problem.status)
    response.content_type = "application/problem+json"
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="essc-idp"'
    response.headers.update(problem.headers)
    return response


@bp.after_request
def sign_response(response: Response) -> Response:
    """Every answer, problems included, signed in the caller's native scheme (if it has one).

    An ``alipay-rsa2`` form caller gets Alipay's signed gateway envelope instead.
    """
    p = provider()
    call: alipay_gateway.GatewayCall | None = g.get("alipay_gateway")
    if call is not None:
        own = p.platform_keys.get(ALIPAY_RSA2.name)
        return alipay_gateway.wrap(response, call, own, g.get("request_id", ""))
    return channel_responses.sign_response(
        response,
        request.headers.get("Authorization"),
        p.platform_keys,
        clock=p.clock,
        request_id=g.get("request_id", ""),
    )


def _answer(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return oauth_json(body, status, headers or None)


def _unit_of_work(p: Provider) -> AbstractContextManager[UnitOfWork]:
    """The request's one transaction; its audit events carry the request id."""
    return p.unit_of_work(request_id=g.get("request_id"))


@bp.post("/ecards")
def issue() -> Response:
    p, body = provider(), _raw_body()
    with _unit_of_work(p) as uow:
        caller = authenticate(uow.session, p, body)
        issued = p.ecards.issue(uow, caller.channel, parse_issue(_json(caller, body)))
    location = f"{PREFIX}/ecards/{issued.sign_no}"
    return _answer(issued.as_json(), 200 if issued.replayed else 201, Location=location)


@bp.get("/ecards/<sign_no>")
def status(sign_no: str) -> Response:
    p = provider()
    with _unit_of_work(p) as uow:
        channel = authenticate(uow.session, p, _raw_body()).channel
        return _answer(p.ecards.status(uow, channel, sign_no))


@bp.post("/ecards/<sign_no>/unbind")
def unbind(sign_no: str) -> Response:
    p, body = provider(), _raw_body()
    with _unit_of_work(p) as uow:
        caller = authenticate(uow.session, p, body)
        request_ = parse_unbind(_json(caller, body))
        return _answer(p.ecards.unbind(uow, caller.channel, sign_no, request_))


def _change_card(sign_no: str, action: str) -> Response:
    p, body = provider(), _raw_body()
    with _unit_of_work(p) as uow:
        caller = authenticate(uow.session, p, body)
        proof = parse_card_change(_json(caller, body))
        change = p.channel_card_changes.change(uow, caller.channel, sign_no, action, proof)
        return _answer(change.as_json())


@bp.post("/ecards/<sign_no>/card/suspend")
def suspend_card(sign_no: str) -> Response:
    """临时挂失 of the card behind this e-card, confirmed by the cardholder's PIN or face."""
    return _change_card(sign_no, "suspend")


@bp.post("/ecards/<sign_no>/card/resume")
def resume_card(sign_no: str) -> Response:
    """解挂 of the card behind this e-card, confirmed by the cardholder's PIN or face."""
    return _change_card(sign_no, "resume")
