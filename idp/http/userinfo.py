"""The UserInfo endpoint (OIDC Core 5.3) as a bearer-protected resource (RFC 6750)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from idp.cardholders.gb11643 import mask_card_number
from idp.cardholders.service import ID_CONTEXT
from idp.cardholders.service import primary_card
from idp.errors import InsufficientScope
from idp.errors import InvalidBearerRequest
from idp.errors import InvalidRequest
from idp.errors import InvalidToken
from idp.errors import MissingBearerToken
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.oauth import rfc8705_mtls
from idp.oauth.params import single_values
from idp.oauth.rfc6750 import PresentedToken
from idp.oauth.rfc6750 import presented_token
from idp.oidc.claims import Cardholder
from idp.oidc.claims import claims_for
from idp.store.people import Person
from idp.store.people import status_at
from idp.store.token_store import SqlTokenStore

bp = Blueprint("userinfo", __name__)


def bearer_token() -> PresentedToken:
    """RFC 6750 2.1 header or 2.2 form body (RFC 9449 7.1: or ``Authorization: DPoP``); never
    the query string, never both."""
    header = request.headers.get("Authorization")
    body_token = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        # RFC 6749 3.1 (and 6750 2.2): other body parameters are ignored, not checked.
        sent = [item for item in request.form.items(multi=True) if item[0] == "access_token"]
        try:
            body_token = single_values(sent).get("access_token")
        except InvalidRequest as exc:
            raise InvalidBearerRequest(exc.description, detail=exc.detail) from None
    if header is not None and body_token is not None:
        raise InvalidBearerRequest("send the token in one place only")
    if header is not None:
        presented = presented_token(header)
        if presented is None:
            # RFC 6750 3.1: an unsupported method gets a challenge without an error code.
            raise MissingBearerToken("the Authorization header must be Bearer or DPoP")
        return presented
    if body_token is not None:
        return PresentedToken("bearer", body_token)
    raise MissingBearerToken("no access token")


def access_token_claims() -> dict[str, Any]:
    """The verified claims of the request's access token, with its DPoP binding checked
    against the request's proof (RFC 9449 7.1) at the URL the issuer names this resource."""
    return checked_claims(bearer_token())


def checked_claims(presented: PresentedToken) -> dict[str, Any]:
    """``presented``'s verified claims, its DPoP binding checked (``access_token_claims``),
    and its certificate binding (RFC 8705 3) against the certificate the proxy forwarded."""
    p = provider()
    claims = p.access_token_verifier.claims(presented.token)
    rfc8705_mtls.check_resource(claims, forwarded_certificate())
    p.dpop.check_resource(
        claims,
        presented.scheme,
        presented.token,
        request.headers.get("DPoP"),
        request.method,
        p.issuer + request.path,
    )
    return claims


def forwarded_certificate() -> str | None:
    """RFC 8705: the client certificate a trusted proxy forwarded for this request, or None."""
    settings = provider().settings
    if not settings.tls_client_cert_header:
        return None
    return rfc8705_mtls.trusted_header(
        request.headers.get(settings.tls_client_cert_header),
        request.remote_addr,
        rfc8705_mtls.parse_networks(settings.tls_client_cert_proxies),
    )


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    p = provider()
    claims = access_token_claims()
    scopes = tuple(str(claims.get("scope", "")).split())
    if "openid" not in scopes:
        raise InsufficientScope("the token lacks the openid scope")
    with p.db.transaction() as session:
        grant = p.access_token_verifier.grant_of(claims, SqlTokenStore(session, now=p.now()))
        if grant is None:
            raise InvalidToken("the token was not issued to a cardholder")
        person = session.get(Person, grant.person_id)
        card = primary_card(session, grant.person_id)
        assert person is not None
        keyring = p.keyring
        holder = Cardholder(
            name=person.name,
            region_code=person.region_code,
            card_number_masked=mask_card_number(card.card_number if card else ""),
            card_status=status_at(card, p.now()) if card else None,
            id_number=lambda: keyring.decrypt_field(person.id_number_enc, context=ID_CONTEXT),
        )
        body = claims_for(scopes, str(claims["sub"]), holder)
    return oauth_json(body)
