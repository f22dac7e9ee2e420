"""RFC 8705 client certificates forwarded by a TLS-terminating proxy, as x5t#S256 thumbprints.

The proxy verifies the TLS handshake and passes the client certificate on in one header, as
URL-encoded PEM (nginx ``$ssl_client_escaped_cert``). essc-idp trusts that header only when
``ESSC_TLS_CLIENT_CERT_HEADER`` names it (``idp.settings``), and matches the certificate by its
SHA-256 thumbprint (RFC 8705 3.1, ``x5t#S256``): the channel registered that exact certificate,
as in self-signed certificate binding (RFC 8705 2.2) where no PKI path is checked.
No Flask here.
"""

from __future__ import annotations

from idp.oauth.rfc8705_mtls import thumbprint
from idp.oauth.rfc8705_mtls import x5t_s256

__all__ = ["forwarded_thumbprint", "x5t_s256"]


def forwarded_thumbprint(value: str) -> str:
    """The x5t#S256 of the one certificate in ``value`` (URL-encoded PEM, or RFC 9440's
    ``:base64 DER:`` as HAProxy sends it; ``idp.oauth.rfc8705_mtls``); ``ValueError`` if none."""
    if not value:
        raise ValueError("no forwarded certificate")
    return thumbprint(value)
