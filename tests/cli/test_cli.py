"""The ``essc`` command as operators script it: one JSON document on success, one clear line and
a non-zero exit on bad input, never a traceback. Runs on a throwaway SQLite database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from idp.cli import main
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from tests.support import CARD


def environment(directory: Path, **extra: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "ESSC_DATABASE_URL": f"sqlite:///{directory / 'essc.db'}",
        "ESSC_INSTANCE_DIR": str(directory),
        "ESSC_ISSUER": "http://127.0.0.1:5000",
        "ESSC_REDIS_URL": None,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
        "ESSC_PIN_HASH_MEMORY_KIB": "1024",
        "ESSC_PIN_HASH_TIME_COST": "1",
    }
    env.update(extra)
    return env


class Essc:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.runner = CliRunner()

    def run(self, *args: str, **env: str) -> Result:
        return self.runner.invoke(main, list(args), env=environment(self.directory, **env))

    def ok(self, *args: str, **env: str) -> Any:
        result = self.run(*args, **env)
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    def fails(self, *args: str, **env: str) -> str:
        result = self.run(*args, **env)
        assert result.exit_code == 1, (result.output, result.exception)
        assert isinstance(result.exception, SystemExit), "a clean exit, not an exception"
        assert "Traceback" not in result.output
        assert result.stderr.startswith("Error: "), result.output
        assert result.stdout == ""
        return result.stderr.removeprefix("Error: ").strip()


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli-template")
    Essc(directory).ok("init")
    return directory / "essc.db"


@pytest.fixture
def essc(initialised: Path, tmp_path: Path) -> Essc:
    for suffix in ("", "-wal", "-shm"):  # the CLI ran in this process: its WAL is not merged
        source = initialised.with_name(initialised.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / source.name)
    return Essc(tmp_path)


def test_init_is_idempotent(tmp_path: Path) -> None:
    cli = Essc(tmp_path)
    first = cli.ok("init")
    assert first["database"] == f"sqlite:///{tmp_path / 'essc.db'}"
    assert {(k["alg"], k["state"]) for k in first["keys"]} == {
        (alg, state)
        for alg in ("ES256", "EdDSA", "PS256", "RS256")
        for state in ("active", "pending")
    }
    assert first["notification_keys_created"] == [
        "wechatpay-v3",
        "alipay-rsa2",
        "alipay-v3",
        "unionpay",
    ]
    again = cli.ok("init")
    assert again["keys"] == first["keys"] and again["notification_keys_created"] == []


def test_keys_list(essc: Essc) -> None:
    listed = essc.ok("keys", "list")
    assert len(listed) == 8
    assert all(set(k) == {"kid", "alg", "state", "retired_at"} for k in listed)


def test_keys_rotate_one_algorithm(essc: Essc) -> None:
    before = {k["kid"]: k for k in essc.ok("keys", "list")}
    [rotation] = essc.ok("keys", "rotate", "--alg", "ES256")
    assert before[rotation["activated"]]["state"] == "pending"
    assert before[rotation["retired"]]["state"] == "active"
    after = {k["kid"]: k for k in essc.ok("keys", "list")}
    assert after[rotation["activated"]]["state"] == "active"
    assert after[rotation["retired"]]["state"] == "retired"
    assert after[rotation["retired"]]["retired_at"] is not None
    assert after[rotation["pending"]]["state"] == "pending"
    unchanged = {kid: k for kid, k in before.items() if k["alg"] != "ES256"}
    assert all(after[kid] == k for kid, k in unchanged.items())


def test_keys_rotate_every_algorithm(essc: Essc) -> None:
    rotations = essc.ok("keys", "rotate")
    assert [r["alg"] for r in rotations] == ["ES256", "EdDSA", "PS256", "RS256"]
    assert all(r["activated"] and r["retired"] and r["pending"] for r in rotations)


def test_keys_rotate_refuses_an_unknown_algorithm(essc: Essc) -> None:
    assert essc.fails("keys", "rotate", "--alg", "HS256") == "unsupported signing algorithm"


def test_export_jwks_has_public_keys_only(essc: Essc) -> None:
    jwks = essc.ok("keys", "export-jwks")
    listed = {k["kid"] for k in essc.ok("keys", "list")}
    assert {k["kid"] for k in jwks["keys"]} == listed
    for key in jwks["keys"]:
        assert key["kid"] == thumbprint(key) and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()


def test_wrong_passphrase_is_one_clear_line(essc: Essc) -> None:
    message = essc.fails("keys", "list", ESSC_KEY_PASSPHRASE="not the passphrase, sorry")
    assert message == "the key passphrase does not open this key ring"


def test_commands_before_init_say_to_run_init(tmp_path: Path) -> None:
    cli = Essc(tmp_path)
    assert "essc init" in cli.fails("keys", "list")


def test_bad_settings_are_one_clear_line(essc: Essc) -> None:
    assert essc.fails("keys", "list", ESSC_ACCESS_TOKEN_TTL="soon") == (
        "ESSC_ACCESS_TOKEN_TTL must be an integer"
    )
    message = essc.fails("keys", "list", ESSC_ENV="production")
    assert "ESSC_SECRET_KEY" in message


PORTAL_ARGS = (
    "clients", "add", "--name", "人社门户", "--kind", "portal",
    "--grant-type", "authorization_code", "--grant-type", "refresh_token",
    "--auth-method", "client_secret_basic", "--redirect-uri", "https://rp.example/cb",
    "--scope", "openid profile essc.card",
)  # fmt: skip


def test_clients_add_prints_one_json_object(essc: Essc) -> None:
    result = essc.run(*PORTAL_ARGS)
    assert result.exit_code == 0 and result.stdout.count("\n") == 1
    added = json.loads(result.stdout)
    assert added["client_id"].startswith("portal-") and len(added["client_secret"]) >= 43
    assert added["grant_types"] == ["authorization_code", "refresh_token"]
    assert added["scope"] == "openid profile essc.card"
    assert added["redirect_uris"] == ["https://rp.example/cb"]


def test_clients_add_private_key_jwt_with_a_jwks_file(essc: Essc, tmp_path: Path) -> None:
    jwk = public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    added = essc.ok(
        "clients", "add", "--name", "扫码终端", "--kind", "merchant",
        "--grant-type", "client_credentials", "--auth-method", "private_key_jwt",
        "--scope", "essc.qr.verify", "--jwks-file", str(path),
    )  # fmt: skip
    assert added["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in added
    assert added["essc_fapi2_security_profile"] is True  # a merchant, by default


MERCHANT_SECRET_ARGS = (
    "clients", "add", "--name", "药店", "--kind", "merchant", "--grant-type",
    "client_credentials", "--auth-method", "client_secret_basic", "--scope", "essc.qr.verify",
)  # fmt: skip


def test_clients_add_embed_origins(essc: Essc) -> None:
    """``--embed-origin`` (repeatable): who may frame the client's sign-in pages."""
    added = essc.ok(
        *PORTAL_ARGS, "--embed-origin", "https://portal.example.gov.cn",
        "--embed-origin", "http://127.0.0.1:8080",
    )  # fmt: skip
    assert added["essc_embed_origins"] == ["https://portal.example.gov.cn", "http://127.0.0.1:8080"]
    assert essc.ok(*PORTAL_ARGS)["essc_embed_origins"] == []
    for hostile in ("https://*.gov.cn", "https://a.gov.cn/embed", "https://a.gov.cn; x"):
        assert essc.fails(*PORTAL_ARGS, "--embed-origin", hostile) == (
            "invalid_client_metadata: essc_embed_origins must hold exact https origins "
            "(scheme://host[:port])"
        )


def test_clients_add_holds_a_merchant_to_fapi2_unless_told_not_to(essc: Essc) -> None:
    """A shared secret is refused under the kind's default profile, with the way out named;
    ``--no-fapi2`` registers it and the printed JSON says so; ``--fapi2`` is the same refusal
    without the hint (the operator chose it)."""
    assert essc.fails(*MERCHANT_SECRET_ARGS) == (
        "invalid_client_metadata: a FAPI 2.0 client authenticates with private_key_jwt or "
        "mutual TLS (merchant channels default to FAPI 2.0; --no-fapi2 opts out)"
    )
    assert essc.fails(*MERCHANT_SECRET_ARGS, "--fapi2") == (
        "invalid_client_metadata: a FAPI 2.0 client authenticates with private_key_jwt or "
        "mutual TLS"
    )
    added = essc.ok(*MERCHANT_SECRET_ARGS, "--no-fapi2")
    assert added["essc_fapi2_security_profile"] is False and added["client_secret"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--kind": "government"}, "invalid_client_metadata: unknown channel kind"),
        (
            {"--redirect-uri": "http://rp.example/cb"},
            "invalid_redirect_uri: redirect_uri must be https (http only on loopback)",
        ),
        (
            {"--scope": "openid essc.payment"},
            "invalid_client_metadata: scope not allowed for this kind",
        ),
        (
            {"--auth-method": "none"},
            "invalid_client_metadata: unsupported token_endpoint_auth_method",
        ),
    ],
)
def test_clients_add_refuses_bad_metadata(
    essc: Essc, changes: dict[str, str], message: str
) -> None:
    args = list(PORTAL_ARGS)
    for option, value in changes.items():
        args[args.index(option) + 1] = value
    assert essc.fails(*args) == message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "--jwks-file is not valid JSON"),
        ("[1]", "invalid_client_metadata: jwks must hold 1 to 10 keys"),
        (
            '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}',
            "invalid_client_metadata: jwks has an unsupported key",
        ),
    ],
)
def test_clients_add_refuses_a_bad_jwks_file(
    essc: Essc, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(content)
    assert essc.fails(
        "clients", "add", "--name", "m", "--kind", "merchant", "--grant-type", "client_credentials",
        "--auth-method", "private_key_jwt", "--scope", "essc.qr.verify", "--jwks-file", str(path),
    ) == message  # fmt: skip


def cardholder_args(**changes: str) -> list[str]:
    values = {**CARD, **changes}
    return [
        "cardholders", "add", "--name", values["name"], "--id-number", values["id_number"],
        "--region-code", values["region_code"], "--card-number", values["card_number"],
        "--pin", values["pin"],
    ]  # fmt: skip


def test_cardholders_add_prints_masked_json(essc: Essc) -> None:
    result = essc.run(*cardholder_args())
    assert result.exit_code == 0 and result.stdout.count("\n") == 1
    added = json.loads(result.stdout)
    assert added["name"] == "张三"
    assert added["id_number_masked"] == "1101**********002X"
    assert added["card_number_masked"] == "A0*****01"
    assert added["card_status"] == "normal"
    assert CARD["id_number"] not in result.stdout and CARD["pin"] not in result.stdout


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id_number": "110105194912310021"}, "ID number: the check digit does not match"),
        ({"id_number": "11010519490230002X"}, "ID number: the birth date is not a date"),
        ({"region_code": "11010"}, "region code must be 6 digits (GB/T 2260)"),
        ({"card_number": "A1"}, "card number must be 6 to 20 letters and digits"),
        ({"pin": "123456"}, "the PIN must not be a run of consecutive digits"),
        ({"pin": "12345"}, "the PIN must be exactly 6 digits"),
        ({"pin": "194912"}, "the PIN must not be taken from the ID number"),
    ],
)
def test_cardholders_add_refuses_bad_input(
    essc: Essc, changes: dict[str, str], message: str
) -> None:
    assert essc.fails(*cardholder_args(**changes)) == message


def test_cardholders_add_refuses_duplicates(essc: Essc) -> None:
    essc.ok(*cardholder_args())
    assert essc.fails(*cardholder_args(card_number="Z00000009")) == (
        "a cardholder with this ID number exists"
    )
    assert essc.fails(*cardholder_args(id_number="310115199003071239")) == (
        "this card number is taken"
    )


def test_missing_option_is_a_usage_error(essc: Essc) -> None:
    result = essc.run("cardholders", "add", "--name", "张三")
    assert result.exit_code == 2 and "Missing option" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("scheme", ["wechatpay-v3", "alipay-v3", "alipay-rsa2", "unionpay"])
def test_keys_notification_cert_prints_the_public_key_only(essc: Essc, scheme: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    cert = essc.ok("keys", "notification-cert", "--scheme", scheme)
    assert set(cert) == {"scheme", "serial", "public_key_pem"} and cert["scheme"] == scheme
    assert "PRIVATE" not in cert["public_key_pem"]
    public = serialization.load_pem_public_key(cert["public_key_pem"].encode())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    assert essc.ok("keys", "notification-cert", "--scheme", scheme) == cert
    if scheme == "unionpay":
        assert cert["serial"].isdigit()  # a UnionPay certId is decimal


def test_keys_notification_cert_refuses_an_unknown_scheme(essc: Essc) -> None:
    assert essc.run("keys", "notification-cert", "--scheme", "rsa").exit_code == 2


def test_channels_notification_key_is_stored_and_never_printed(essc: Essc, tmp_path: Path) -> None:
    client_id = essc.ok(*PORTAL_ARGS)["client_id"]
    key = "TEST-ONLY-apiv3-key-0123456789ab"
    path = tmp_path / "apiv3.key"
    path.write_text(key + "\n")
    result = essc.run("channels", "notification-key", client_id, "--from-file", str(path))
    assert result.exit_code == 0 and key not in result.output
    assert json.loads(result.stdout) == {"client_id": client_id, "notification_key": "set"}
    assert essc.ok("channels", "notification-key", client_id, "--remove") == {
        "client_id": client_id,
        "notification_key": "removed",
    }
    path.write_text("too short")
    assert "32 bytes" in essc.fails(
        "channels", "notification-key", client_id, "--from-file", str(path)
    )
    assert "no channel" in essc.fails("channels", "notification-key", "nobody", "--remove")
    assert "exactly one" in essc.fails("channels", "notification-key", client_id)


def test_purge_forgets_passed_pin_lockouts_of_unknown_credentials(essc: Essc) -> None:
    from idp.store.database import Database
    from idp.store.people import PinAttempts

    db = Database(f"sqlite:///{essc.directory / 'essc.db'}")
    with db.transaction() as s:
        s.add(PinAttempts(key_hash="a" * 64, failures=5, locked_until=1, updated_at=1))
        s.add(PinAttempts(key_hash="b" * 64, failures=5, locked_until=2**40, updated_at=1))
        s.add(PinAttempts(key_hash="c" * 64, failures=2, locked_until=None, updated_at=1))
    assert essc.ok("purge") == {
        "purged": 0,
        "pin_lockouts_purged": 1,
        "sessions_ended": 0,
        "scan_requests_purged": 0,
    }
    with db.read() as s:
        left = set(s.scalars(select(PinAttempts.key_hash)))
    db.dispose()
    assert left == {"b" * 64, "c" * 64}


def test_purge_deletes_scan_requests_an_hour_past_their_expiry(essc: Essc) -> None:
    import time

    from idp.scan_signin.service import KEEP_ENDED
    from idp.store.database import Database
    from idp.store.scan_signin import ScanRequest

    now = int(time.time())
    db = Database(f"sqlite:///{essc.directory / 'essc.db'}")
    with db.transaction() as s:
        for name, expires_at in (("old", now - KEEP_ENDED - 5), ("recent", now - 60)):
            s.add(
                ScanRequest(
                    ref_hash=name.ljust(64, "0"),
                    pc_hash=name.ljust(64, "1"),
                    interaction_id="i",
                    client_id="c",
                    state="expired",
                    number=10,
                    choices=[10, 20, 30],
                    pc_network="127.0.0.0/24",
                    created_at=expires_at - 120,
                    expires_at=expires_at,
                )
            )
    assert essc.ok("purge")["scan_requests_purged"] == 1
    with db.read() as s:
        left = set(s.scalars(select(ScanRequest.ref_hash)))
    db.dispose()
    assert left == {"recent".ljust(64, "0")}
