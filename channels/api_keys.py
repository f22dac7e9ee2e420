"""A channel's native API signature scheme, its public keys and its notification URL.

RFC 7591 2 lets a server define extension metadata; essc-idp's carry the ``essc_`` prefix:

- ``essc_api_signature_scheme``: ``wechatpay-v3``, ``alipay-v3``, ``alipay-rsa2`` or
  ``unionpay-rsa`` (``channels.signing.registry``), the scheme of the channel's own kind;
- ``essc_api_keys``: 1 to 10 objects ``{"serial", "public_key" | "certificate"}``, PEM text;
- ``essc_notification_url``: where notifications go (any channel, native scheme or not).

The same checks serve ``essc clients add`` and ``POST /register`` / ``PUT /register/{id}``.
Keys are parsed with pyca/cryptography (RSA, 2048 bits or more; a certificate must not have
expired) and serials are stored in their ``canonical_serial`` form; everything is checked before
anything is written. Pure: returns ``NativeApi`` or raises ``InvalidClientMetadata``.
Spec: ``docs/onboarding.md`` section 3.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.kinds import ChannelKind
from channels.registration import InvalidClientMetadata
from channels.registration import check_https_uri
from channels.signing import UNIONPAY_RSA
from channels.signing import WECHATPAY_V3
from channels.signing import canonical_serial
from channels.signing import registered
from channels.signing.rsa_sha256 import MIN_BITS

SCHEME_FIELD = "essc_api_signature_scheme"
KEYS_FIELD = "essc_api_keys"
URL_FIELD = "essc_notification_url"
MAX_KEYS = 10
MAX_PEM = 8192
#: The stored serial of a key registered without one (Alipay public-key mode).
NO_SERIAL = ""
#: Schemes whose serial is the key's certificate serial, so a certificate gives it, written as
#: the channel's SDK writes it: hex for WeChat Pay ``serial_no``, decimal for UnionPay ``certId``.
CERTIFICATE_SERIALS = {WECHATPAY_V3.name: "X", UNIONPAY_RSA.name: "d"}
KEY_FIELDS = frozenset({"serial", "public_key", "certificate"})


def bad(description: str) -> InvalidClientMetadata:
    return InvalidClientMetadata("invalid_client_metadata", description)


@dataclass(frozen=True)
class KeyInput:
    """One key as given: a serial (None: derive it, or Alipay public-key mode) and one PEM."""

    serial: str | None
    public_key: str | None = None
    certificate: str | None = None


@dataclass(frozen=True)
class NativeApi:
    """What is stored: ``ChannelRow.api_auth_scheme``, ``api_keys`` and ``notification_url``."""

    scheme: str | None
    keys: Mapping[str, str]
    notification_url: str | None

    def metadata(self) -> dict[str, Any]:
        """The ``essc_*`` members of the client information response (RFC 7591 3.2.1)."""
        out: dict[str, Any] = {}
        if self.scheme is not None:
            out[SCHEME_FIELD] = self.scheme
            out[KEYS_FIELD] = [
                {"public_key": pem}
                if serial == NO_SERIAL
                else {"serial": serial, "public_key": pem}
                for serial, pem in sorted(self.keys.items())
            ]
        if self.notification_url is not None:
            out[URL_FIELD] = self.notification_url
        return out


def native_api(
    scheme: str | None,
    keys: Sequence[KeyInput],
    notification_url: str | None,
    *,
    kind: ChannelKind,
    now: float,
    allow_http_loopback: bool,
) -> NativeApi:
    """Check everything; the result is what the channel's row will hold."""
    if notification_url is not None:
        check_https_uri(notification_url, URL_FIELD, allow_http_loopback)
    if scheme is None:
        if keys:
            raise bad("essc_api_keys needs essc_api_signature_scheme")
        return NativeApi(None, {}, notification_url)
    adapter = registered(scheme)  # an older spelling is stored under the scheme's name
    if adapter is None:
        raise bad("unsupported essc_api_signature_scheme")
    name = adapter.name
    if adapter.channel != kind:
        raise bad("essc_api_signature_scheme is not the scheme of this channel kind")
    if not 0 < len(keys) <= MAX_KEYS:
        raise bad("a native scheme needs 1 to 10 essc_api_keys")
    stored: dict[str, str] = {}
    for given in keys:
        serial, pem = _key(name, given, now)
        if serial in stored:
            raise bad("two essc_api_keys have the same serial")
        stored[serial] = pem
    return NativeApi(name, stored, notification_url)


def _key(scheme: str, given: KeyInput, now: float) -> tuple[str, str]:
    """(canonical serial or ``NO_SERIAL``, SubjectPublicKeyInfo PEM) for one key."""
    if (given.public_key is None) == (given.certificate is None):
        raise bad("each essc_api_keys entry has exactly one of public_key or certificate")
    derived = None
    if given.certificate is not None:
        certificate = _certificate(given.certificate, now)
        try:
            public = certificate.public_key()
        except UnsupportedAlgorithm:
            raise bad("essc_api_keys must be RSA keys of at least 2048 bits") from None
        if scheme in CERTIFICATE_SERIALS:
            derived = _serial(format(certificate.serial_number, CERTIFICATE_SERIALS[scheme]))
    else:
        public = _public_key(given.public_key or "")
    if not isinstance(public, rsa.RSAPublicKey) or public.key_size < MIN_BITS:
        raise bad("essc_api_keys must be RSA keys of at least 2048 bits")
    serial = _serial(given.serial) if given.serial is not None else derived
    if derived is not None and serial != derived:
        raise bad("the serial is not the certificate's serial")
    if serial is None and scheme in CERTIFICATE_SERIALS:
        raise bad("this scheme's keys need a serial (or a certificate)")
    if serial is None and given.certificate is not None:  # Alipay: cert mode names its SN
        raise bad("an Alipay certificate needs its app_cert_sn as serial")
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return (serial if serial is not None else NO_SERIAL), pem


def _serial(text: str) -> str:
    try:
        return canonical_serial(text)
    except ValueError:
        raise bad("a serial must be a hex number (a decimal certId for UnionPay)") from None


def _pem_bytes(text: str) -> bytes:
    if len(text) > MAX_PEM or not text.isascii():
        raise bad("a key must be PEM text")
    return text.encode("ascii")


def _public_key(text: str) -> Any:
    try:
        return serialization.load_pem_public_key(_pem_bytes(text))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise bad("public_key is not a PEM public key") from None


def _certificate(text: str, now: float) -> x509.Certificate:
    try:
        certificate = x509.load_pem_x509_certificate(_pem_bytes(text))
    except ValueError:
        raise bad("certificate is not a PEM X.509 certificate") from None
    if certificate.not_valid_after_utc < datetime.fromtimestamp(now, UTC):
        raise bad("the certificate has expired")
    return certificate


def from_body(
    body: Mapping[str, Any], *, kind: ChannelKind, now: float, allow_http_loopback: bool
) -> NativeApi:
    """The ``essc_*`` members of a registration request, type by type, then ``native_api``."""
    scheme, url = body.get(SCHEME_FIELD), body.get(URL_FIELD)
    if not isinstance(scheme, str | None) or not isinstance(url, str | None):
        raise bad("a metadata field has the wrong type")
    raw = body.get(KEYS_FIELD, [])
    if not isinstance(raw, list) or len(raw) > MAX_KEYS:
        raise bad("essc_api_keys must be an array of at most 10 objects")
    keys = [_key_input(entry) for entry in raw]
    return native_api(
        scheme, keys, url, kind=kind, now=now, allow_http_loopback=allow_http_loopback
    )


def _key_input(entry: Any) -> KeyInput:
    if not isinstance(entry, dict) or not entry.keys() <= KEY_FIELDS:
        raise bad("an essc_api_keys entry has unknown members")
    if not all(isinstance(value, str) for value in entry.values()):
        raise bad("an essc_api_keys member has the wrong type")
    return KeyInput(entry.get("serial"), entry.get("public_key"), entry.get("certificate"))


def from_row(scheme: str | None, keys: Mapping[str, str] | None, url: str | None) -> NativeApi:
    """What a channel's row holds, for the client information response.

    Only native schemes are metadata; ``tls_client_auth`` and the like stay out of it.
    """
    adapter = registered(scheme)
    if adapter is None:
        return NativeApi(None, {}, url)
    return NativeApi(adapter.name, dict(keys or {}), url)
