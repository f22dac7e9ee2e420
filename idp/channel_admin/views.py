"""The client registration endpoint (RFC 7591 3) and client configuration endpoint (RFC 7592 2).

Views translate HTTP only: the JSON body in, ``Provider.onboarding`` called in the request's one
unit of work, JSON out with ``Cache-Control: no-store``. Errors are RFC 7591 3.2.2 JSON (400) or
RFC 6750 3.1 Bearer challenges (401/403) through the app's ``OAuthError`` handler.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request

from idp.errors import InvalidClientMetadata
from idp.errors import InvalidToken
from idp.errors import MissingBearerToken
from idp.http.http import MalformedJson
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.http.http import read_json
from idp.oauth.rfc6750 import presented_token
from idp.store.unit_of_work import UnitOfWork

bp = Blueprint("registration", __name__)
MAX_TOKEN_LENGTH = 256


def json_body() -> dict[str, Any]:
    """RFC 7591 3.1: an ``application/json`` object (strict I-JSON, ``read_json``); anything
    else is invalid metadata."""
    if request.mimetype != "application/json":
        raise InvalidClientMetadata("the body must be application/json")
    try:
        body = read_json(request.get_data(cache=False))
    except MalformedJson as exc:
        raise InvalidClientMetadata("the body is not valid JSON", detail=exc.reason) from None
    if not isinstance(body, dict):
        raise InvalidClientMetadata("the body must be a JSON object")
    return body


def registration_token() -> str:
    """RFC 7592 2 / RFC 6750 2.1: ``Authorization: Bearer``, in the header only."""
    presented = presented_token(request.headers.get("Authorization"))
    if presented is None or presented.scheme != "bearer":
        raise MissingBearerToken("the registration access token is required")
    if len(presented.token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("the registration access token is malformed")
    return presented.token


def _unit_of_work() -> AbstractContextManager[UnitOfWork]:
    """The request's one transaction; its audit events carry the request id."""
    return provider().unit_of_work(request_id=g.get("request_id"))


@bp.post("/register")
def register() -> Response:
    body = json_body()
    with _unit_of_work() as uow:
        registered = provider().onboarding.register(uow, body)
    return oauth_json(registered, 201)


@bp.get("/register/<client_id>")
def read(client_id: str) -> Response:
    token = registration_token()
    with _unit_of_work() as uow:
        return oauth_json(provider().onboarding.read(uow, client_id, token))


@bp.put("/register/<client_id>")
def update(client_id: str) -> Response:
    onboarding, token = provider().onboarding, registration_token()
    with _unit_of_work() as uow:
        onboarding.authenticate(uow, client_id, token)  # a stranger learns nothing about the body
        updated = onboarding.update(uow, client_id, token, json_body())
    return oauth_json(updated)


@bp.delete("/register/<client_id>")
def delete(client_id: str) -> Response:
    token = registration_token()
    with _unit_of_work() as uow:
        provider().onboarding.delete(uow, client_id, token)
    return Response(status=204, headers={"Cache-Control": "no-store"})
