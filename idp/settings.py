"""Every setting of essc-idp in one documented place, with safe defaults.

Each field reads one ``ESSC_*`` environment variable. Development defaults let ``make run`` work
on a fresh machine; a production start (``ESSC_ENV=production``) refuses the development secrets
and an ``http`` issuer, so a misconfiguration stops start-up instead of running unsafe.
The table in ``docs/configuration.md`` is this file in prose; keep them together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from dataclasses import replace
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "dev-secret-key-not-for-production"
DEV_KEY_PASSPHRASE = "dev-key-passphrase-not-for-production"


class ConfigurationError(RuntimeError):
    """The settings cannot be used; the message says which one and why."""


def _default_database_url(instance_dir: str | None = None) -> str:
    instance = Path(instance_dir or os.environ.get("ESSC_INSTANCE_DIR", "instance")).resolve()
    return f"sqlite:///{instance / 'essc.db'}"


@dataclass(frozen=True)
class Settings:
    """Typed settings. ``Settings.from_env()`` is the only constructor the app uses."""

    #: ``development`` or ``production``.
    env: str = "development"
    #: Where the embedded SQLite database and the demo client's credentials live.
    instance_dir: str = "instance"
    #: SQLAlchemy URL. SQLite is the embedded default; PostgreSQL via ``postgresql+psycopg://``.
    database_url: str = field(default_factory=_default_database_url)
    #: Redis URL for the replay cache and token deny-list; empty means the database serves both.
    redis_url: str = ""
    #: ``ESSC_REDIS_URL`` names one node of a Redis Cluster; the others are discovered from it.
    redis_cluster: bool = False
    #: The issuer identifier (OIDC Core 2, RFC 8414 2). https in production.
    issuer: str = "http://127.0.0.1:5000"
    #: Signs the browser's session cookie (CSRF token, pending interaction).
    secret_key: str = DEV_SECRET_KEY
    #: Opens the key ring: private signing keys and data keys are encrypted under it.
    key_passphrase: str = DEV_KEY_PASSPHRASE
    #: The PKCS#11 module (the HSM vendor's ``.so``) that keeps the signing keys: every new
    #: token, QR and notification signing key is created inside the token and signs there
    #: (keys/hsm.py, docs/operations.md "Keys in an HSM"). Empty (the default): signing keys
    #: are wrapped under ``key_passphrase`` in the database.
    pkcs11_module: str = ""
    #: The label of the token in that module (``CKA_LABEL`` of the token, not of a key).
    pkcs11_token_label: str = ""
    #: The token's user PIN, or (preferred) ``pkcs11_pin_file``: a file holding it, such as a
    #: systemd credential or a mounted secret. Exactly one of the two with a module.
    pkcs11_pin: str = ""
    pkcs11_pin_file: str = ""
    #: Default ID token signing algorithm (per-client ``id_token_signed_response_alg`` wins).
    default_signing_alg: str = "ES256"
    #: Lifetimes in seconds. Codes follow FAPI 2.0 (<= 60 s).
    authorization_code_ttl: int = 60
    access_token_ttl: int = 300
    client_credentials_ttl: int = 600
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 14 * 24 * 3600
    session_ttl: int = 8 * 3600
    interaction_ttl: int = 600
    #: How long a face verification meets ``urn:essc:acr:face`` (docs/sign-in.md).
    face_acr_max_age: int = 300
    #: A pushed authorization request's ``request_uri`` (RFC 9126 2.2: short, once).
    par_ttl: int = 60
    #: A CSV file of ``cidr,region`` lines: the PC's approximate location that the phone shows
    #: before a scan-to-sign-in approval (idp.scan_signin.regions); empty: only "this machine"
    #: and "private network" are known.
    network_regions: str = ""
    #: How long the signed QR status list is served before it is rebuilt, and the ``ttl`` it
    #: tells offline verifiers: a stopped card's codes fail offline within about twice this.
    qr_status_list_ttl: int = 60
    #: Oldest ``iat`` a DPoP proof may have (RFC 9449 11.1); a ``jti`` is remembered this long.
    dpop_proof_max_age: int = 60
    #: Require the server's ``DPoP-Nonce`` in every proof (RFC 9449 8, 9).
    dpop_require_nonce: bool = False
    #: How long one DPoP nonce slot lasts; a nonce is accepted in its slot and the next.
    dpop_nonce_seconds: int = 300
    #: Longest a client assertion (RFC 7523) may live: ``exp - iat``, and ``exp - now``.
    client_assertion_max_age: int = 300
    #: Clock skew accepted on JWT ``iat``/``nbf``/``exp`` (FAPI 2.0 5.3.2.1: 10 s).
    clock_skew: int = 10
    #: e-card PIN lockout (issue 2: 5 failures lock for 15 minutes).
    pin_max_failures: int = 5
    pin_lockout_seconds: int = 900
    #: argon2id cost for PINs (OWASP: m=19 MiB, t=2, p=1).
    pin_hash_memory_kib: int = 19 * 1024
    pin_hash_time_cost: int = 2
    #: How long a worker trusts its cached copy of a client or the key ring.
    client_cache_seconds: int = 30
    keyring_refresh_seconds: int = 60
    #: Cap on any request body, in bytes; larger bodies get 413 before parsing.
    max_request_bytes: int = 64 * 1024
    #: A temporary suspension (临时挂失) lifts by itself after this long (7 days).
    suspension_seconds: int = 7 * 24 * 3600
    #: Scan-to-pay limits per e-card, in fen (1 CNY = 100 fen; our policy defaults [U]): a payment
    #: up to ``payment_no_pin_limit_fen`` is authorized at once, a larger one waits for the
    #: holder's e-card PIN; what one e-card spends in a day (China Standard Time) never passes
    #: ``payment_daily_limit_fen``, which also bounds a single payment (docs/payments.md).
    payment_no_pin_limit_fen: int = 50_000
    payment_daily_limit_fen: int = 500_000
    #: How long a payment above the no-PIN limit waits for the PIN before it is declined.
    payment_confirmation_seconds: int = 120
    #: How long after its authorization a merchant may reverse (void) a payment.
    payment_reversal_seconds: int = 3600
    #: Family proxy (docs/family.md): how many agents one person may have (an agent has at
    #: most 8 relatives, fixed), and how long a request waits for the principal's consent.
    family_max_agents_per_principal: int = 5
    family_request_seconds: int = 7 * 24 * 3600
    #: Pension eligibility certification (docs/family.md): a certification lasts 12 months and
    #: is ``due`` (the reminder state; certifying again is allowed) this many days before.
    pension_due_days: int = 30
    #: Notification delivery: attempts before a message is parked, and the backoff cap.
    notification_max_attempts: int = 20
    notification_max_backoff_seconds: int = 3600
    #: The operator's onboarding public keys, a JWK Set as JSON: software statements
    #: (RFC 7591 2.3) must be signed by one of them. Empty: no channel can self-register.
    onboarding_jwks: str = ""
    #: RFC 8705 behind a TLS-terminating proxy: the request header in which the proxy forwards
    #: the verified client certificate as URL-encoded PEM (nginx ``$ssl_client_escaped_cert``).
    #: Empty (the default): no header is trusted and mutual TLS is off. The proxy must overwrite
    #: the header on every request, or a caller could send a certificate of its choosing.
    tls_client_cert_header: str = ""
    #: The addresses (or networks, comma-separated) of the TLS proxies allowed to forward a
    #: client certificate: the header from any other connection is ignored (RFC 8705 behind
    #: a proxy). Loopback by default, where deploy/haproxy.cfg runs beside the instances.
    tls_client_cert_proxies: str = "127.0.0.1,::1"
    #: The request header in which a trusted proxy in front passes its request id (such as
    #: ``X-Request-Id``), taken if it is 8 to 36 letters, digits and hyphens. Empty (the
    #: default): every request gets the server's own id and an id a caller sends is ignored.
    #: The proxy must overwrite the header on every request, or callers choose their ids.
    proxy_request_id_header: str = ""
    #: Abuse limit: POST requests per address to each limited group (token, PAR, registration,
    #: sign-in, QR issuing, payments), in the ``limits`` notation (``50/second``, ``600/minute``).
    #: The default is a flood ceiling above one host's measured peak (docs/benchmarks.md), as
    #: many citizens share a carrier's address; lower it to the deployment's traffic.
    rate_limit: str = "3000/second"
    #: The same per authenticated client (a channel or merchant) and group: token, PAR, QR
    #: issuing and payments.
    rate_limit_per_client: str = "3000/second"
    #: The header in which a trusted proxy passes the caller's address (``X-Real-IP``); empty:
    #: the connection's address. The proxy must overwrite it, or callers choose their address.
    rate_limit_address_header: str = ""
    #: Seed the demo relying party (``/demo``) and its client.
    demo: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"ESSC_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _parse(f.name, raw, f.type)
        values.update(overrides)
        if "database_url" not in values:
            # The embedded database lives in the instance dir this environment names.
            values["database_url"] = _default_database_url(values.get("instance_dir"))
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **overrides)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def _check_rate_limit(self) -> None:
        from limits import parse

        try:
            parse(self.rate_limit)
            parse(self.rate_limit_per_client)
        except ValueError:
            raise ConfigurationError(
                "ESSC_RATE_LIMIT and ESSC_RATE_LIMIT_PER_CLIENT must read like 50/second"
            ) from None
        header = self.rate_limit_address_header
        if header and (not _HEADER_NAME.fullmatch(header) or header.lower() in _RESERVED_HEADERS):
            raise ConfigurationError(
                "ESSC_RATE_LIMIT_ADDRESS_HEADER must be a header name such as X-Real-IP"
            )

    def _check_tls_proxies(self) -> None:
        import ipaddress

        try:
            for part in self.tls_client_cert_proxies.split(","):
                if part.strip():
                    ipaddress.ip_network(part.strip(), strict=False)
        except ValueError:
            raise ConfigurationError(
                "ESSC_TLS_CLIENT_CERT_PROXIES must be addresses or networks, comma-separated"
            ) from None

    def _check_pkcs11(self) -> None:
        if not self.pkcs11_module:
            if self.pkcs11_token_label or self.pkcs11_pin or self.pkcs11_pin_file:
                raise ConfigurationError("ESSC_PKCS11_* is set but ESSC_PKCS11_MODULE is empty")
            return
        if not Path(self.pkcs11_module).is_file():
            raise ConfigurationError("ESSC_PKCS11_MODULE must name the PKCS#11 library file")
        if not self.pkcs11_token_label:
            raise ConfigurationError("ESSC_PKCS11_TOKEN_LABEL must name the token")
        if bool(self.pkcs11_pin) == bool(self.pkcs11_pin_file):
            raise ConfigurationError("set exactly one of ESSC_PKCS11_PIN, ESSC_PKCS11_PIN_FILE")
        if self.pkcs11_pin_file and not Path(self.pkcs11_pin_file).is_file():
            raise ConfigurationError("ESSC_PKCS11_PIN_FILE must name a readable file")

    def pkcs11_user_pin(self) -> str:
        """The token's user PIN, from the setting or its file (one trailing newline dropped)."""
        if self.pkcs11_pin:
            return self.pkcs11_pin
        return Path(self.pkcs11_pin_file).read_text(encoding="utf-8").removesuffix("\n")

    def check(self) -> None:
        """Fail closed: raise ``ConfigurationError`` for any unsafe or inconsistent value."""
        if self.env not in ("development", "production"):
            raise ConfigurationError("ESSC_ENV must be 'development' or 'production'")
        if self.issuer.endswith("/") or "?" in self.issuer or "#" in self.issuer:
            raise ConfigurationError("ESSC_ISSUER must have no trailing slash, query or fragment")
        if self.default_signing_alg not in ("ES256", "EdDSA", "PS256", "RS256"):
            raise ConfigurationError(
                "ESSC_DEFAULT_SIGNING_ALG must be ES256, EdDSA, PS256 or RS256"
            )
        if not 0 < self.authorization_code_ttl <= 600:
            raise ConfigurationError("ESSC_AUTHORIZATION_CODE_TTL must be 1..600 seconds")
        if not 0 < self.par_ttl <= 600:
            raise ConfigurationError("ESSC_PAR_TTL must be 1..600 seconds")
        if not 0 < self.qr_status_list_ttl <= 3600:
            raise ConfigurationError("ESSC_QR_STATUS_LIST_TTL must be 1..3600 seconds")
        if not 0 < self.dpop_proof_max_age <= 600 or not 0 < self.dpop_nonce_seconds <= 3600:
            raise ConfigurationError(
                "ESSC_DPOP_PROOF_MAX_AGE must be 1..600 and ESSC_DPOP_NONCE_SECONDS 1..3600 seconds"
            )
        _check_onboarding_jwks(self.onboarding_jwks)
        if not 0 < self.payment_no_pin_limit_fen <= self.payment_daily_limit_fen <= 2**53 - 1:
            raise ConfigurationError(
                "ESSC_PAYMENT_NO_PIN_LIMIT_FEN must be positive and at most"
                " ESSC_PAYMENT_DAILY_LIMIT_FEN"
            )
        if not 1 <= self.family_max_agents_per_principal <= 100:
            raise ConfigurationError("ESSC_FAMILY_MAX_AGENTS_PER_PRINCIPAL must be 1..100")
        if self.family_request_seconds <= 0:
            raise ConfigurationError("ESSC_FAMILY_REQUEST_SECONDS must be positive")
        if not 1 <= self.pension_due_days <= 180:
            raise ConfigurationError("ESSC_PENSION_DUE_DAYS must be 1..180")
        if self.payment_confirmation_seconds <= 0 or self.payment_reversal_seconds <= 0:
            raise ConfigurationError(
                "ESSC_PAYMENT_CONFIRMATION_SECONDS and ESSC_PAYMENT_REVERSAL_SECONDS must be"
                " positive"
            )
        if self.tls_client_cert_header and (
            not _HEADER_NAME.fullmatch(self.tls_client_cert_header)
            or self.tls_client_cert_header.lower() in _RESERVED_HEADERS
        ):
            raise ConfigurationError(
                "ESSC_TLS_CLIENT_CERT_HEADER must be a header name such as X-SSL-Client-Cert"
            )
        self._check_tls_proxies()
        if self.proxy_request_id_header and (
            not _HEADER_NAME.fullmatch(self.proxy_request_id_header)
            or self.proxy_request_id_header.lower() in _RESERVED_HEADERS
        ):
            raise ConfigurationError(
                "ESSC_PROXY_REQUEST_ID_HEADER must be a header name such as X-Request-Id"
            )
        self._check_rate_limit()
        self._check_pkcs11()
        if not self.production:
            return
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            raise ConfigurationError(
                "production refuses the development ESSC_SECRET_KEY; set 32+ random characters"
            )
        if self.key_passphrase == DEV_KEY_PASSPHRASE or len(self.key_passphrase) < 16:
            raise ConfigurationError(
                "production refuses the development ESSC_KEY_PASSPHRASE; set 16+ random characters"
            )
        if self.demo:
            raise ConfigurationError("ESSC_DEMO must be off in production")
        self._check_production_place()

    def _check_production_place(self) -> None:
        """What production refuses besides the development secrets. An issuer on loopback is
        a trial on one machine (the benchmarks, the live tests): its tokens name 127.0.0.1, which
        no relying party elsewhere accepts, so http and SQLite are let through there only."""
        trial = _is_loopback(self.issuer)
        if not self.issuer.startswith("https://") and not trial:
            raise ConfigurationError(
                "production needs an https ESSC_ISSUER (http only on loopback, for a trial)"
            )
        if self.database_url.startswith("sqlite") and not trial:
            raise ConfigurationError(
                "production refuses SQLite (one writer, one machine); set ESSC_DATABASE_URL to"
                " postgresql+psycopg://..."
            )
        demo_files = sorted(p.name for p in Path(self.instance_dir).glob("demo-*.json"))
        if demo_files:
            raise ConfigurationError(
                f"production refuses an instance holding the demo's keys and secrets"
                f" ({', '.join(demo_files)} in ESSC_INSTANCE_DIR, written by `essc demo`);"
                " start from a fresh instance and database"
            )


_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_RESERVED_HEADERS = frozenset({"authorization", "content-type", "content-length", "host", "cookie"})


def _check_onboarding_jwks(value: str) -> None:
    from channels.software_statement import trusted_keys

    try:
        trusted_keys(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def _parse(name: str, raw: str, annotation: object) -> Any:
    kind = str(annotation)
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigurationError(f"ESSC_{name.upper()} must be an integer") from None
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigurationError(f"ESSC_{name.upper()} must be true or false")
    return raw
