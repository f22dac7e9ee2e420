"""RFC 8705 client certificates forwarded by a TLS-terminating proxy, as x5t#S256 thumbprints.

The proxy verifies the TLS handshake and passes the client certificate on in one header, as
URL-encoded PEM (nginx ``$ssl_client_escaped_cert``). essc-idp trusts that header only when
``ESSC_TLS_CLIENT_CERT_HEADER`` names it (``idp.settings``), and matches the certificate by its
SHA-256 thumbprint (RFC 8705 3.1, ``x5t#S256``): the channel registered that exact certificate,
as in self-signed certificate binding (RFC 8705 2.2) where no PKI path is checked.
No Flask here.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

#: More than any certificate a channel needs; a longer header is refused unparsed.
MAX_HEADER_CHARS = 16 * 1024


def x5t_s256(der: bytes) -> str:
    """RFC 8705 3.1: base64url (no padding) of the SHA-256 of the DER certificate."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def forwarded_thumbprint(value: str) -> str:
    """The x5t#S256 of the one URL-encoded PEM certificate in ``value``; ``ValueError`` if none."""
    if not value or len(value) > MAX_HEADER_CHARS:
        raise ValueError("no forwarded certificate")
    pem = unquote(value, encoding="ascii", errors="strict")
    if pem.count("-----BEGIN CERTIFICATE-----") != 1:
        raise ValueError("exactly one PEM certificate is expected")
    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    return x5t_s256(certificate.public_bytes(Encoding.DER))
