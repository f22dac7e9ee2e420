"""Pushed Authorization Requests (RFC 9126).

The client sends its authorization request to ``/par`` on the back channel, authenticated as at
the token endpoint (2); the request is validated there by the authorization endpoint's own
checks (2.1) and stored; the client gets a one-time ``request_uri`` (2.2) to send the browser to
``/authorize`` with, beside its ``client_id`` (4). Nothing of the request travels through the
browser, so it can be neither read nor changed there; a client registered with
``require_pushed_authorization_requests`` (6) is refused on the front channel without one.

The request may be pushed as a signed request object (3, the ``request`` parameter; RFC 9101,
``rfc9101_jar``): then only the object's parameters are stored. A ``request_uri`` is single
use (one conditional UPDATE, ``idp.store.pushed_requests``) and lives ``ESSC_PAR_TTL`` seconds
(60 by default, at most 600: FAPI 2.0 5.3.2.2 (12) wants less than 600), bound to the client
that pushed it.

Free of Flask: the store is a small protocol (``idp.store.pushed_requests`` implements it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import Protocol

from channels.client import Client
from idp.errors import InvalidDpopProof
from idp.errors import InvalidRequest
from idp.errors import InvalidRequestObject
from idp.errors import InvalidRequestUri
from idp.oauth import authorize
from idp.oauth.authorize import RedirectableError
from idp.oauth.authorize import UntrustedRedirect
from idp.oauth.params import single_values
from idp.oauth.rfc9101_jar import RequestObjects

#: RFC 9126 2.2: the URN prefix of a ``request_uri`` this server issued.
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: The form parameters the endpoint reads, client authentication's aside: the authorization
#: request's own. ``request_uri`` is read only to refuse it (2.1).
PARAMETERS = authorize.PARAMETERS
#: ``secrets.token_urlsafe(32)``: 43 base64url characters.
_HANDLE = re.compile(r"[A-Za-z0-9_-]{43}")


class PushedRequestStore(Protocol):
    def add(
        self,
        uri_hash: str,
        client_id: str,
        params: list[tuple[str, str]],
        now: int,
        expires_at: int,
    ) -> None: ...

    def use(self, uri_hash: str, client_id: str, now: int) -> list[tuple[str, str]] | None: ...


class PushedRequests:
    def __init__(
        self,
        lifetime: int,
        token_hash: Callable[[str], str],
        clock: Callable[[], int],
        *,
        request_objects: RequestObjects,
        find_client: Callable[[str], Client | None],
    ) -> None:
        self._lifetime = lifetime
        self._token_hash = token_hash
        self._clock = clock
        self._objects = request_objects
        self._find_client = find_client

    def push(
        self,
        caller: Client,
        form: Mapping[str, str],
        store: PushedRequestStore,
        *,
        proof_jkt: str | None = None,
    ) -> dict[str, Any]:
        """RFC 9126 2.1–2.3: validate as ``/authorize`` would, store, answer the ``request_uri``.
        ``proof_jkt``: the key of the request's DPoP proof, which binds the code as
        ``dpop_jkt`` does and must equal it when both are sent (RFC 9449 10.1)."""
        if "request_uri" in form:
            raise InvalidRequest("request_uri must not be pushed (RFC 9126 2.1)")
        if form.get("client_id", caller.client_id) != caller.client_id:
            raise InvalidRequest("client_id is not the authenticated client's")
        form = self._unpacked(caller, form)
        if proof_jkt is not None and form.get("dpop_jkt", proof_jkt) != proof_jkt:
            raise InvalidDpopProof("dpop_jkt is not the DPoP proof's key")
        form = {**form, "dpop_jkt": proof_jkt} if proof_jkt is not None else form
        params = [(n, v) for n, v in form.items() if n != "client_id"]
        params.append(("client_id", caller.client_id))
        own = {caller.client_id: caller}
        try:
            authorize.parse_authorization_request(params, own.get, pushed=True)
        except (UntrustedRedirect, RedirectableError) as exc:
            raise exc.error from None  # 2.3: the error as the token endpoint answers one
        handle = secrets.token_urlsafe(32)
        now = self._clock()
        store.add(self._token_hash(handle), caller.client_id, params, now, now + self._lifetime)
        return {"request_uri": REQUEST_URI_PREFIX + handle, "expires_in": self._lifetime}

    def _unpacked(self, caller: Client, form: Mapping[str, str]) -> Mapping[str, str]:
        """RFC 9126 3: a pushed ``request`` object stands for the whole request (RFC 9101 5);
        a client registered with ``require_signed_request_object`` must push one (10.5)."""
        if "request" not in form:
            if caller.require_signed_request_object:
                raise InvalidRequest("this client must send a signed request object")
            return form
        try:
            items = single_values(self._objects.parameters(form["request"], caller))
        except InvalidRequest as exc:  # the object's own values fail the edge checks
            raise InvalidRequestObject(
                "a request object parameter is malformed", detail=exc.detail
            ) from None
        return items

    def expand(
        self, items: list[tuple[str, str]], store: PushedRequestStore
    ) -> tuple[list[tuple[str, str]], bool]:
        """The browser's parameters, or the pushed request's when it names one (RFC 9126 4):
        then only those count, and the ``client_id`` beside it must be the one that pushed.
        Returns the parameters and whether they were pushed."""
        request_uris = [v for n, v in items if n == "request_uri"]
        if not request_uris or not request_uris[0].startswith(REQUEST_URI_PREFIX):
            # A signed request object, or the browser's own parameters; a request_uri that
            # is not ours stays for check_no_request_uri to refuse: nothing is fetched.
            return self._objects.front_channel(items, self._find_client), False
        client_ids = [v for n, v in items if n == "client_id"]
        if len(request_uris) != 1 or len(client_ids) != 1:
            raise InvalidRequest("request_uri and client_id must each be given once")
        handle = request_uris[0][len(REQUEST_URI_PREFIX) :]
        plausible = _HANDLE.fullmatch(handle) is not None
        pushed = (
            store.use(self._token_hash(handle), client_ids[0], self._clock()) if plausible else None
        )
        if pushed is None:
            raise InvalidRequestUri("the request_uri is unknown, expired, used or another client's")
        return pushed, True
