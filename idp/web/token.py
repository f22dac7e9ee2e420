"""The token (RFC 6749 3.2), introspection (RFC 7662) and revocation (RFC 7009) endpoints."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import g
from flask import request

from channels.client import Client
from idp.audit import record_event
from idp.errors import OAuthError
from idp.store.token_store import SqlTokenStore
from idp.web.http import endpoint_url
from idp.web.http import form_params
from idp.web.http import oauth_json
from idp.web.http import provider

bp = Blueprint("token", __name__)


def _authenticated(params: dict[str, str], path: str) -> Client:
    return provider().authenticator.authenticate(
        params, request.headers.get("Authorization"), endpoint_url(path)
    )


@bp.post("/token")
def token() -> Response:
    p = provider()
    params = form_params()
    grant = p.grants.for_request(params)
    client = _authenticated(params, "/token")
    if not grant.uses_storage:
        return oauth_json(grant.issue(params, client, None))
    with p.db.transaction() as session:
        try:
            body = grant.issue(params, client, SqlTokenStore(session))
        except OAuthError as exc:
            if getattr(exc, "keep_writes", False):
                record_event(
                    session,
                    "grant.revoked",
                    at=p.now(),
                    client_id=client.client_id,
                    request_id=g.request_id,
                    reason=exc.detail,
                )
            raise
    return oauth_json(body)


@bp.post("/introspect")
def introspect() -> Response:
    p = provider()
    params = form_params()
    client = _authenticated(params, "/introspect")
    with p.db.transaction() as session:
        body = p.introspection.introspect(client, params, SqlTokenStore(session))
    return oauth_json(body)


@bp.post("/revoke")
def revoke() -> Response:
    p = provider()
    params = form_params()
    client = _authenticated(params, "/revoke")
    with p.db.transaction() as session:
        if p.revocation.revoke(client, params, SqlTokenStore(session)):
            record_event(
                session,
                "token.revoked",
                at=p.now(),
                client_id=client.client_id,
                request_id=g.request_id,
            )
    return oauth_json({})
