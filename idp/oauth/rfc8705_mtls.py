"""Mutual-TLS client authentication and certificate-bound access tokens (RFC 8705).

TLS ends at the proxy in front (HAProxy, nginx), which asks for a client certificate and
forwards the one it received in a header: as RFC 9440's ``Client-Cert`` (a structured-field
byte sequence, ``:base64 DER:``; HAProxy ``:%[ssl_c_der,base64]:``) or as URL-encoded PEM
(nginx ``$ssl_client_escaped_cert``). The header is read only when the operator named it
(``ESSC_TLS_CLIENT_CERT_HEADER``) and the connection comes from a trusted proxy address
(``ESSC_TLS_CLIENT_CERT_PROXIES``); anyone else's header is ignored unread.

- 2.1 ``tls_client_auth``: the proxy checked the chain to a CA it trusts; the certificate's
  subject matches the client's registered ``tls_client_auth_subject_dn``.
- 2.2 ``self_signed_tls_client_auth``: the certificate is one of the client's registered
  ``x5c`` certificates (no PKI path; the proxy accepts any certificate, ``verify optional``).
- 3 a token issued to a request with a certificate carries ``cnf.x5t#S256``; a resource
  accepts it only over a connection with that same certificate (3.2, 4).
No Flask, no SQLAlchemy here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from channels.client import Client
from channels.registration import registered_certificates
from idp.errors import InvalidClient
from idp.errors import InvalidRequest
from idp.errors import InvalidToken

#: More than any certificate a channel needs; a longer header is refused unparsed.
MAX_HEADER_CHARS = 16 * 1024
CNF_MEMBER = "x5t#S256"
PKI, SELF_SIGNED = "tls_client_auth", "self_signed_tls_client_auth"
_BYTE_SEQUENCE = re.compile(r":([A-Za-z0-9+/]+={0,2}):")
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def x5t_s256(der: bytes) -> str:
    """RFC 8705 3.1: base64url (no padding) of the SHA-256 of the DER certificate."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


@lru_cache(maxsize=8)
def parse_networks(value: str) -> Networks:
    """``ESSC_TLS_CLIENT_CERT_PROXIES``: addresses or networks, comma-separated;
    ``ValueError`` for anything else."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return tuple(ipaddress.ip_network(p, strict=False) for p in parts)


def trusted_header(value: object, remote_addr: object, proxies: Networks) -> str | None:
    """The forwarded certificate header, if the connection is from a trusted proxy."""
    if not isinstance(value, str) or not value or not isinstance(remote_addr, str):
        return None
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return None
    return value if any(address in network for network in proxies) else None


def certificate(value: str) -> x509.Certificate:
    """The one certificate in a forwarded header (RFC 9440 2.2 byte sequence, or URL-encoded
    PEM); ``ValueError`` if it holds anything else."""
    if len(value) > MAX_HEADER_CHARS:
        raise ValueError("the forwarded certificate is too long")
    sequence = _BYTE_SEQUENCE.fullmatch(value.strip())
    if sequence is not None:
        try:
            return x509.load_der_x509_certificate(base64.b64decode(sequence.group(1)))
        except binascii.Error:
            raise ValueError("the forwarded certificate is not base64") from None
    pem = unquote(value, encoding="ascii", errors="strict")
    if pem.count(_PEM_BEGIN) != 1:
        raise ValueError("exactly one PEM certificate is expected")
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def thumbprint(value: str) -> str:
    """The ``x5t#S256`` of the forwarded certificate; ``ValueError`` if unreadable."""
    return x5t_s256(certificate(value).public_bytes(Encoding.DER))


def authenticate(client: Client, forwarded: str | None) -> None:
    """RFC 8705 2: ``InvalidClient`` unless the forwarded certificate authenticates
    ``client`` by the method it registered."""
    if forwarded is None:
        raise InvalidClient("client authentication failed", detail="no client certificate")
    try:
        cert = certificate(forwarded)
    except ValueError:
        raise InvalidClient("client authentication failed", detail="bad certificate") from None
    der = cert.public_bytes(Encoding.DER)
    method = client.token_endpoint_auth_method
    if method == SELF_SIGNED:
        if any(hmac.compare_digest(der, known) for known in registered_certificates(client.jwks)):
            return
        raise InvalidClient("client authentication failed", detail="unregistered certificate")
    if method == PKI and _subject_matches(cert, client.tls_client_auth_subject_dn):
        return
    raise InvalidClient("client authentication failed", detail="certificate subject")


def _subject_matches(cert: x509.Certificate, registered: str | None) -> bool:
    """RFC 8705 2.1.2: the subject DN, compared as names (RFC 4514), not as strings."""
    if registered is None:
        return False
    try:
        return cert.subject == x509.Name.from_rfc4514_string(registered)
    except ValueError:
        return False


def token_binding(client: Client, forwarded: str | None) -> dict[str, str] | None:
    """RFC 8705 3: the ``cnf`` for tokens issued to a request over mutual TLS, or None; a
    client that registered ``tls_client_certificate_bound_access_tokens`` must present one."""
    if forwarded is None:
        if client.tls_client_certificate_bound_access_tokens:
            raise InvalidRequest(
                "a client certificate is required", detail="certificate-bound client"
            )
        return None
    try:
        return {CNF_MEMBER: thumbprint(forwarded)}
    except ValueError:
        raise InvalidRequest("the client certificate is unreadable", detail="bad cert") from None


def check_resource(claims: dict[str, Any], forwarded: str | None) -> None:
    """RFC 8705 3 at a protected resource: a certificate-bound token only over a connection
    with that certificate (``invalid_token`` otherwise, 401)."""
    cnf = claims.get("cnf")
    bound = cnf.get(CNF_MEMBER) if isinstance(cnf, dict) else None
    if bound is None:
        return
    try:
        presented = thumbprint(forwarded) if forwarded is not None else None
    except ValueError:
        presented = None
    if presented is None or not isinstance(bound, str):
        raise InvalidToken("the token is bound to a client certificate", detail="no certificate")
    if not hmac.compare_digest(presented, bound):
        raise InvalidToken("the token is bound to another certificate", detail="x5t mismatch")


def merge(dpop: dict[str, str] | None, mtls: dict[str, str] | None) -> dict[str, str] | None:
    """One ``cnf`` (RFC 7800 3.1) holding both bindings when a request has both."""
    if dpop is None or mtls is None:
        return dpop or mtls
    return {**dpop, **mtls}
