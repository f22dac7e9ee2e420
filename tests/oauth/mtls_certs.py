"""Real X.509 certificates for the RFC 8705 tests, made with pyca/cryptography: a self-signed
client certificate, and a small CA issuing one by subject; headers as a TLS proxy sends them."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from idp.oauth.rfc8705_mtls import x5t_s256

_START = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def name(common_name: str, org: str = "Demo Bank") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Cert:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)

    @property
    def x5t(self) -> str:
        return x5t_s256(self.der)

    def rfc9440(self) -> str:
        """``Client-Cert`` (RFC 9440 2.2): HAProxy's ``:%[ssl_c_der,base64]:``."""
        return f":{base64.b64encode(self.der).decode()}:"

    def escaped_pem(self) -> str:
        """nginx ``$ssl_client_escaped_cert``."""
        return quote(self.certificate.public_bytes(Encoding.PEM).decode(), safe="")

    def jwk(self) -> dict[str, Any]:
        """The client's public key as a JWK with its certificate in ``x5c`` (RFC 7517 4.7)."""
        import json

        import jwt

        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return {**jwk, "use": "sig", "x5c": [base64.b64encode(self.der).decode()]}


def _build(subject: x509.Name, issuer: x509.Name, key: Any, signer: Any, ca: bool) -> Any:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_START)
        .not_valid_after(_START + datetime.timedelta(days=3650 * 2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(signer, hashes.SHA256())


def self_signed(common_name: str = "bank-app") -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name(common_name)
    return Cert(_build(subject, subject, key, key, False), key)


def issued(ca: Cert, subject: x509.Name) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    return Cert(_build(subject, ca.certificate.subject, key, ca.key, False), key)


def authority() -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name("Demo Bank CA")
    return Cert(_build(subject, subject, key, key, True), key)
