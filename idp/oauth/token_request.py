"""One request to the token, introspection or revocation endpoint, as the protocol code sees it.

The back channel (``idp.http.backchannel``) builds it from the WSGI environ; grants, client
authentication and the next extensions read what they need from it: the form (RFC 6749 3.2),
the method and URL a DPoP proof signs (RFC 9449 4.3 ``htm``, ``htu``), the headers (``DPoP``,
``Authorization``), and the client certificate the TLS proxy forwarded (RFC 8705 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set
from dataclasses import dataclass


@dataclass(frozen=True)
class TokenRequest:
    method: str
    #: The endpoint as the client addressed it: the issuer and the path, no query (RFC 9449 4.3).
    url: str
    #: Checked single values (``idp.oauth.params.single_values``) of the parameters the endpoint
    #: reads; all others were ignored (RFC 6749 3.1).
    form: Mapping[str, str]
    #: Header names in lower case, as the caller sent them.
    headers: Mapping[str, str]
    #: The client certificate a trusted proxy forwarded (URL-encoded PEM in the header that
    #: ``settings.tls_client_cert_header`` names; ``idp.channel_auth.rfc8705_mtls``), or None
    #: when none is configured. Read it here, never from ``headers``: without that setting
    #: any caller can send the header.
    client_certificate: str | None
    request_id: str

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def reading_only(self, names: Set[str]) -> TokenRequest:
        """This request with only the form parameters ``names``: what a grant declared it reads,
        so a grant cannot depend on a parameter its declaration leaves out."""
        form = {k: v for k, v in self.form.items() if k in names}
        return TokenRequest(
            self.method, self.url, form, self.headers, self.client_certificate, self.request_id
        )
