"""JWT-Secured Authorization Requests (RFC 9101): the ``request`` parameter.

A client signs its authorization request as a JWT, the *request object*, with one of its
registered keys, and sends it pushed (RFC 9126 3, the ``request`` form parameter at ``/par``)
or through the browser (``/authorize?client_id=...&request=...``, RFC 9101 5). Then only the
object's parameters count (5: parameters outside it are ignored), and the object must be:

- a compact JWS (4) whose ``alg`` is on the allow-list, never ``none`` or a MAC (10.1; FAPI 2.0
  5.4.1: a FAPI 2.0 client only ES256, PS256 or EdDSA);
- signed by a key the client registered (6.3, ``jwks`` or ``jwks_uri``, ``client_keys.py``);
- ``iss`` the client id, ``aud`` the issuer (6.3, 10.2), ``client_id``, when present, the same;
- in time: ``exp`` required, ``nbf``/``iat`` not in the future, and no longer-lived than an hour
  (FAPI 2.0 Message Signing: ``nbf`` no more than 60 minutes past, ``exp`` no more than 60
  minutes after ``nbf``; ``nbf`` is required of a FAPI 2.0 client);
- without ``request`` or ``request_uri`` inside (4).

Every refusal is ``invalid_request_object`` (6.3); a request object where one is not accepted
(nested) too. On the front channel it is redirected to the ``redirect_uri`` beside the object
when that one is registered, as any authorization error; otherwise shown on an error page.
``request_uri`` is accepted only as a pushed request's URN (``rfc9126_par``): essc-idp never
fetches a URL a client names (10.4: server-side request forgery). No Flask here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from typing import Protocol

import jwt

from channels.client import Client
from idp.errors import InvalidRequest
from idp.errors import InvalidRequestObject
from idp.errors import OAuthError
from idp.oauth import authorize
from idp.oauth import fapi2

#: RFC 9101 10.1 / RFC 8725 3.1: asymmetric signatures only, never ``none`` or HS*.
ALGS = ("ES256", "PS256", "EdDSA", "RS256")
#: RFC 9101 10.8: the explicit type; a plain ``JWT`` (or none) is accepted as RFC 9101 4 allows.
TYPES = frozenset({"oauth-authz-req+jwt", "jwt"})
#: The longest object read (a PS256 object with a 4096-bit key id and every parameter is ~6 KiB).
MAX_LENGTH = 16384
#: FAPI 2.0 Message Signing (request signing, AS 3-4): one hour, for every client here.
MAX_LIFETIME = 3600
#: JWT claims that frame the object (RFC 7519 4.1) rather than request anything.
_FRAMING = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class ClientKeys(Protocol):
    def keys_for(self, client: Client) -> list[jwt.PyJWK]: ...


class RequestObjects:
    """Verifies request objects for one issuer against the clients' registered keys."""

    def __init__(
        self,
        issuer: str,
        client_keys: ClientKeys,
        *,
        clock: Callable[[], float],
        leeway: int,
    ) -> None:
        self._issuer = issuer
        self._client_keys = client_keys
        self._clock = clock
        self._leeway = leeway

    def parameters(self, request_object: str, client: Client) -> list[tuple[str, str]]:
        """RFC 9101 6.3: the authorization parameters of a request object ``client`` signed,
        its ``client_id`` last; ``InvalidRequestObject`` for anything unusable."""
        alg = _checked_header(request_object, fapi2.allowed_algs(client, ALGS))
        claims = self._verified(request_object, client, alg)
        self._check_claims(claims, client)
        return [*_as_parameters(claims), ("client_id", client.client_id)]

    def front_channel(
        self, items: list[tuple[str, str]], find_client: Callable[[str], Client | None]
    ) -> list[tuple[str, str]]:
        """RFC 9101 5: ``/authorize`` with ``request``: the object's parameters alone, for the
        ``client_id`` beside it. Without one, a client registered with
        ``require_signed_request_object`` (10.5) is refused."""
        objects = [v for n, v in items if n == "request"]
        client_ids = [v for n, v in items if n == "client_id"]
        if not objects:
            client = find_client(client_ids[0]) if _plausible(client_ids) else None
            if client is not None and client.require_signed_request_object:
                raise InvalidRequest("this client must send a signed request object")
            return items
        if len(objects) != 1 or len(client_ids) != 1:
            raise InvalidRequest("request and client_id must each be given once")
        if any(n == "request_uri" for n, _ in items):
            raise InvalidRequest("request and request_uri must not be sent together")
        client = find_client(client_ids[0]) if _plausible(client_ids) else None
        if client is None or not client.active:
            raise InvalidRequest("client_id is missing or unknown")
        try:
            return self.parameters(objects[0], client)
        except InvalidRequestObject as exc:
            raise _refusal(items, find_client, exc) from None

    def _verified(self, token: str, client: Client, alg: str) -> dict[str, Any]:
        """6.3: the signature by one of the client's keys that fits ``kid`` and ``alg``."""
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._client_keys.keys_for(client):
            if kid is not None and key.key_id != kid:
                continue
            if key.algorithm_name not in (alg, "", None):
                continue
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key.key,
                    algorithms=[alg],
                    options={
                        "verify_aud": False,
                        "verify_iss": False,
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                    },
                )
            except (jwt.InvalidSignatureError, jwt.InvalidKeyError, jwt.InvalidAlgorithmError):
                continue
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                raise InvalidRequestObject(
                    "the request object is malformed", detail=type(exc).__name__
                ) from None
            return claims
        raise InvalidRequestObject(
            "the request object is not signed by a registered key", detail="no key verified"
        )

    def _check_claims(self, claims: Mapping[str, Any], client: Client) -> None:
        if claims.get("iss") != client.client_id:
            raise InvalidRequestObject("the request object iss must be the client_id")
        if claims.get("client_id", client.client_id) != client.client_id:
            raise InvalidRequestObject("the request object client_id does not match")
        aud = claims.get("aud")
        if not (aud == self._issuer or (isinstance(aud, list) and self._issuer in aud)):
            raise InvalidRequestObject("the request object aud must be the issuer")
        if "request" in claims or "request_uri" in claims:
            raise InvalidRequestObject("a request object must not hold request or request_uri")
        self._check_times(claims, nbf_required=client.fapi2_security_profile)

    def _check_times(self, claims: Mapping[str, Any], *, nbf_required: bool) -> None:
        """``exp`` ahead and at most an hour away; ``nbf``/``iat`` not ahead, ``nbf`` at most an
        hour past and ``exp - nbf`` at most an hour. Written so that NaN fails every test."""
        now, leeway = self._clock(), self._leeway
        exp = _number(claims.get("exp"))
        if exp is None or not now - leeway < exp <= now + MAX_LIFETIME:
            raise InvalidRequestObject("the request object is expired or lives too long")
        nbf = _number(claims.get("nbf"))
        if nbf is None and (nbf_required or "nbf" in claims):
            raise InvalidRequestObject("the request object needs a numeric nbf")
        if nbf is not None and not (
            now - MAX_LIFETIME <= nbf <= now + leeway and exp - nbf <= MAX_LIFETIME
        ):
            raise InvalidRequestObject("the request object nbf is out of bounds")
        iat = _number(claims.get("iat"))
        if "iat" in claims and (iat is None or not iat <= now + leeway):
            raise InvalidRequestObject("the request object iat is in the future")


def _checked_header(token: str, algs: tuple[str, ...]) -> str:
    """RFC 9101 4, 10.1: a compact JWS with an allowed ``alg`` and, if typed, the JAR type."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH or not _COMPACT.fullmatch(token):
        raise InvalidRequestObject("the request object must be a compact signed JWT")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidRequestObject("the request object header is malformed") from None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algs:
        raise InvalidRequestObject("the request object alg is not allowed")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in TYPES):
        raise InvalidRequestObject("the request object typ is not oauth-authz-req+jwt")
    if "crit" in header:  # RFC 7515 4.1.11: no extension is understood here
        raise InvalidRequestObject("the request object has critical headers")
    return alg


def _as_parameters(claims: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """The authorization parameters among the claims, as the form would carry them: strings
    as they are, ``max_age`` from an integer, ``claims`` from its JSON object. Claims that are
    not authorization parameters are ignored, as unknown parameters are (RFC 6749 3.1)."""
    for name, value in claims.items():
        if name in _FRAMING or name == "client_id" or name not in authorize.PARAMETERS:
            continue
        if isinstance(value, str):
            yield name, value
        elif name == "max_age" and isinstance(value, int) and not isinstance(value, bool):
            yield name, str(value)
        elif name == "claims" and isinstance(value, dict):
            yield name, json.dumps(value, separators=(",", ":"), ensure_ascii=True)
        else:
            raise InvalidRequestObject("a request object parameter has the wrong type")


def _refusal(
    items: list[tuple[str, str]], find_client: Callable[[str], Client | None], error: OAuthError
) -> authorize.UntrustedRedirect | authorize.RedirectableError:
    """OIDC Core 6.3 / 3.1.2.6: the error goes back to the client when the ``redirect_uri``
    beside the object is one it registered (the routing checks of ``authorize.CHECKS``
    decide, so this cannot redirect anywhere else); shown to the user otherwise."""
    c = authorize.Checking(items, find_client)
    try:
        for check in ROUTING_CHECKS:
            check(c)
    except OAuthError:
        return authorize.UntrustedRedirect(error)
    return c.refusal(error)


#: What trusts a redirect URI, in ``authorize.CHECKS``'s order.
ROUTING_CHECKS = (
    authorize.check_routing_values,
    authorize.check_client,
    authorize.check_redirect_uri,
)


def _plausible(client_ids: list[str]) -> bool:
    """One ``client_id`` of a length a client id can have (``channels.registry``)."""
    return len(client_ids) == 1 and 0 < len(client_ids[0]) <= 64


def _number(value: object) -> int | float | None:
    """A JSON number (never a boolean), compared as it is: a huge integer stays exact."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
