"""Channel onboarding: software statements, RFC 7591 registration, RFC 7592 management, the
operator's CLI and the two tiers (issue 3 section 1). Runs on SQLite and on PostgreSQL/Redis."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from channels.software_statement import TYP
from channels.software_statement import issue_claims
from idp.cli import main
from idp.provider import Provider
from keys.onboarding import generate
from keys.onboarding import public_jwks
from keys.onboarding import sign
from tests.conftest import ISSUER
from tests.conftest import test_settings as settings_for
from tests.support import START
from tests.support import basic

JSON = "application/json"


pytestmark = pytest.mark.onboarding


def statement(
    key: bytes,
    *,
    kind: str = "bank",
    scope: str = "essc.ecard essc.payment",
    grants: tuple[str, ...] = ("client_credentials",),
    parent: str | None = None,
    now: int = START,
    ttl: int = 3600,
    **override: Any,
) -> str:
    claims = issue_claims(
        issuer=ISSUER,
        now=now,
        ttl=ttl,
        jti=secrets.token_urlsafe(16),
        software_id=f"sw-{kind}",
        kind=kind,
        client_name=f"Test {kind}",
        scopes=scope.split(),
        grant_types=list(grants),
        parent_client_id=parent,
        # The operator takes these test channels off FAPI 2.0 (they use secrets); the
        # profile's own onboarding tests are in tests/oauth/test_fapi.py.
        fapi2=override.pop("fapi2", False),
    )
    typ = override.pop("typ", TYP)
    claims.update(override)
    return sign(key, claims, typ=typ)


def register(web: Any, software_statement: str | None, **metadata: Any) -> Any:
    body: dict[str, Any] = {
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "essc.ecard",
        **metadata,
    }
    if software_statement is not None:
        body["software_statement"] = software_statement
    return web.post("/register", json=body)


def token(web: Any, client: dict[str, Any], scope: str | None = None) -> Any:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return web.post("/token", data=form, headers=basic(client["client_id"], client["secret"]))


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def editable(information: dict[str, Any]) -> dict[str, Any]:
    """RFC 7592 2.2: an update omits the fields only the server sets."""
    server = ("registration_client_uri", "client_id_issued_at", "client_secret_expires_at")
    return {k: v for k, v in information.items() if k not in server}


def essc(provider: Provider, *args: str) -> Any:
    env = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_REDIS_URL": provider.settings.redis_url or None,
        "ESSC_ISSUER": ISSUER,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
        "ESSC_ONBOARDING_JWKS": provider.settings.onboarding_jwks,
    }
    result = CliRunner().invoke(main, ["channels", *args], env=env)
    return result


def essc_ok(provider: Provider, *args: str) -> Any:
    result = essc(provider, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def onboard(web: Any, provider: Provider, software_statement: str, **metadata: Any) -> Any:
    """Register and approve; returns the client with its secret and registration token."""
    response = register(web, software_statement, **metadata)
    assert response.status_code == 201, response.json
    body = response.json
    essc_ok(provider, "approve", body["client_id"])
    return {**body, "secret": body.get("client_secret")}


def channel_count(provider: Provider) -> int:
    with provider.db.read() as s:
        return int(s.execute(text("SELECT COUNT(*) FROM channels")).scalar_one())


def spent_statements(provider: Provider) -> int:
    sql = "SELECT COUNT(*) FROM expiring_keys WHERE key LIKE 'software-statement:%'"
    with provider.db.read() as s:
        return int(s.execute(text(sql)).scalar_one())


def audit_events(provider: Provider, client_id: str) -> list[str]:
    sql = "SELECT event FROM audit_events WHERE client_id = :c ORDER BY id"
    with provider.db.read() as s:
        return [r[0] for r in s.execute(text(sql), {"c": client_id})]


# -- the full onboarding ---------------------------------------------------------------------


def test_full_onboarding(web: Any, provider: Provider, operator_key: bytes) -> None:
    software_statement = statement(operator_key)
    created = register(web, software_statement)
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    client = {**created.json, "secret": created.json["client_secret"]}
    client_id = client["client_id"]
    assert client_id.startswith("bank-")
    assert client["essc_status"] == "pending"
    assert client["client_secret_expires_at"] == 0
    assert client["registration_client_uri"] == f"{ISSUER}/register/{client_id}"
    assert client["software_statement"] == software_statement
    assert client["client_name"] == "Test bank"  # the statement's name wins (RFC 7591 2.3)
    assert client["scope"] == "essc.ecard"

    refused = token(web, client)
    assert refused.status_code == 401 and refused.json["error"] == "invalid_client"

    listed = essc_ok(provider, "pending")
    assert [c["client_id"] for c in listed] == [client_id]
    approved = essc_ok(provider, "approve", client_id)
    assert approved["status"] == "active"
    assert token(web, client).status_code == 200

    management = client["registration_access_token"]
    read = web.get(f"/register/{client_id}", headers=bearer(management))
    assert read.status_code == 200
    assert read.json["essc_status"] == "active"
    assert "client_secret" not in read.json and "registration_access_token" not in read.json

    update = {
        **editable(read.json),
        "scope": "essc.ecard essc.payment",
        "client_secret": client["secret"],
    }
    updated = web.put(f"/register/{client_id}", json=update, headers=bearer(management))
    assert updated.status_code == 200, updated.json
    assert updated.json["scope"] == "essc.ecard essc.payment"
    assert token(web, client, "essc.payment").status_code == 200

    assert web.delete(f"/register/{client_id}", headers=bearer(management)).status_code == 204
    assert token(web, client).status_code == 401
    gone = web.get(f"/register/{client_id}", headers=bearer(management))
    assert gone.status_code == 401 and gone.json["error"] == "invalid_token"
    assert audit_events(provider, client_id) == [
        "channel.registered",
        "channel.approved",
        "channel.updated",
        "channel.deleted",
    ]


def test_discovery_names_the_registration_endpoint(web: Any) -> None:
    document = web.get("/.well-known/openid-configuration").json
    assert document["registration_endpoint"] == f"{ISSUER}/register"


def test_operator_statuses(web: Any, provider: Provider, operator_key: bytes) -> None:
    client = onboard(web, provider, statement(operator_key))
    essc_ok(provider, "suspend", client["client_id"])
    assert token(web, client).status_code == 401
    essc_ok(provider, "resume", client["client_id"])
    assert token(web, client).status_code == 200

    pending = register(web, statement(operator_key)).json
    assert essc_ok(provider, "reject", pending["client_id"])["status"] == "rejected"
    refused = essc(provider, "approve", pending["client_id"])
    assert refused.exit_code == 1 and "rejected" in refused.stderr
    assert essc(provider, "resume", "bank-unknown").exit_code == 1


def test_cli_statement_verifies(
    web: Any, provider: Provider, operator_key: bytes, tmp_path: Path
) -> None:
    key_file = tmp_path / "onboarding.pem"
    key_file.write_bytes(operator_key)
    out = essc_ok(
        provider, "statement", "--key-file", str(key_file), "--name", "某银行", "--kind", "bank"
    )
    header = json.loads(base64.urlsafe_b64decode(out["software_statement"].split(".")[0] + "=="))
    assert header["typ"] == TYP
    assert out["claims"]["essc_channel_kind"] == "bank"
    assert out["claims"]["client_name"] == "某银行"
    # The CLI signs at the wall clock; verify with a provider that reads the wall clock.
    live = Provider(provider.settings, database=provider.db)
    claims = live.onboarding._verifier.verify(out["software_statement"]).claims
    assert claims["jti"] == out["claims"]["jti"]
    printed = essc_ok(provider, "onboarding-key", "--key-file", str(key_file))
    assert printed == public_jwks(operator_key)


# -- two tiers -----------------------------------------------------------------------------


def test_second_tier_is_limited_by_its_parent(
    web: Any, provider: Provider, operator_key: bytes
) -> None:
    parent = onboard(web, provider, statement(operator_key))
    pid = parent["client_id"]
    child_statement = statement(operator_key, kind="app", scope="openid essc.ecard", parent=pid)
    child = onboard(web, provider, child_statement)
    assert child["essc_parent_client_id"] == pid
    assert token(web, child).status_code == 200

    beyond = register(web, statement(operator_key, parent=pid), scope="essc.ecard essc.payment")
    assert beyond.status_code == 400 and beyond.json["error"] == "invalid_client_metadata"
    grants = ("client_credentials", "authorization_code")
    wider = register(
        web,
        statement(operator_key, kind="app", scope="openid essc.ecard", grants=grants, parent=pid),
        grant_types=list(grants),
        redirect_uris=["https://app.example/cb"],
        scope="openid essc.ecard",
    )
    assert wider.status_code == 400 and wider.json["error"] == "invalid_client_metadata"

    suspended = essc_ok(provider, "suspend", pid)
    assert suspended["children"] == [child["client_id"]]
    assert token(web, child).status_code == 401
    read = web.get(
        f"/register/{child['client_id']}", headers=bearer(child["registration_access_token"])
    )
    assert read.json["essc_status"] == "active"  # its own status is untouched
    late = register(web, statement(operator_key, parent=pid))
    assert late.status_code == 400 and late.json["error"] == "unapproved_software_statement"
    essc_ok(provider, "resume", pid)
    assert token(web, child).status_code == 200

    grandchild = register(web, statement(operator_key, parent=child["client_id"]))
    assert grandchild.json["error"] == "unapproved_software_statement"


def test_child_cannot_be_approved_under_a_suspended_parent(
    web: Any, provider: Provider, operator_key: bytes
) -> None:
    parent = onboard(web, provider, statement(operator_key))
    child = register(web, statement(operator_key, parent=parent["client_id"])).json
    essc_ok(provider, "suspend", parent["client_id"])
    refused = essc(provider, "approve", child["client_id"])
    assert refused.exit_code == 1 and "parent" in refused.stderr


# -- hostile input ---------------------------------------------------------------------------


def _forged(key: bytes) -> str:
    header, payload, signature = statement(key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["essc_channel_kind"] = "bank"
    claims["scope"] = "essc.ecard essc.payment essc.idnumber"
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{signature}"


BAD_STATEMENTS: dict[str, tuple[Callable[[bytes], str | None], str]] = {
    "missing": (lambda key: None, "invalid_software_statement"),
    "not a JWT": (lambda key: "not-a-jwt", "invalid_software_statement"),
    "expired": (lambda key: statement(key, now=START - 7200), "invalid_software_statement"),
    "issued in the future": (
        lambda key: statement(key, now=START + 600),
        "invalid_software_statement",
    ),
    "forged claims": (_forged, "invalid_software_statement"),
    "another key": (lambda key: statement(generate()), "unapproved_software_statement"),
    "another issuer": (
        lambda key: statement(key, iss="https://elsewhere.example"),
        "unapproved_software_statement",
    ),
    "another audience": (
        lambda key: statement(key, aud="https://elsewhere.example"),
        "invalid_software_statement",
    ),
    "wrong typ": (lambda key: statement(key, typ="JWT"), "invalid_software_statement"),
    "no jti": (lambda key: statement(key, jti=None), "invalid_software_statement"),
    "unknown kind": (
        lambda key: statement(key, essc_channel_kind="casino"),
        "invalid_software_statement",
    ),
    "too long-lived": (
        lambda key: statement(key, exp=START + 91 * 24 * 3600),
        "invalid_software_statement",
    ),
    "unknown parent": (
        lambda key: statement(key, parent="bank-0000000000000000"),
        "unapproved_software_statement",
    ),
}

BAD_METADATA: dict[str, tuple[dict[str, Any], str]] = {
    "statement for another kind": ({"essc_channel_kind": "wechat"}, "invalid_client_metadata"),
    "scope beyond the statement": (
        {"scope": "essc.ecard essc.idnumber"},
        "invalid_client_metadata",
    ),
    "scope beyond the kind": ({"scope": "essc.qr.verify"}, "invalid_client_metadata"),
    "grant beyond the statement": (
        {
            "grant_types": ["authorization_code"],
            "redirect_uris": ["https://bank.example/cb"],
            "scope": "openid",
        },
        "invalid_client_metadata",
    ),
    "http redirect": (
        {"grant_types": ["client_credentials"], "redirect_uris": ["http://bank.example/cb"]},
        "invalid_redirect_uri",
    ),
    "redirect with fragment": (
        {"redirect_uris": ["https://bank.example/cb#x"]},
        "invalid_redirect_uri",
    ),
    "redirect not a list": ({"redirect_uris": "https://bank.example/cb"}, "invalid_redirect_uri"),
    "scope not a string": ({"scope": ["essc.ecard"]}, "invalid_client_metadata"),
    "unknown auth method": ({"token_endpoint_auth_method": "none"}, "invalid_client_metadata"),
    "private jwks": (
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [{"kty": "EC", "d": "x"}]},
        },
        "invalid_client_metadata",
    ),
    "server field": ({"registration_access_token": "x"}, "invalid_client_metadata"),
    "response type without code grant": ({"response_types": ["code"]}, "invalid_client_metadata"),
}


def _assert_refused(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["error"] == error
    assert response.json["error_description"].isascii()


@pytest.mark.parametrize("case", sorted(BAD_STATEMENTS))
def test_bad_statement(web: Any, provider: Provider, operator_key: bytes, case: str) -> None:
    make, error = BAD_STATEMENTS[case]
    _assert_refused(register(web, make(operator_key)), 400, error)
    assert channel_count(provider) == 0 and spent_statements(provider) == 0


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_bad_metadata(web: Any, provider: Provider, operator_key: bytes, case: str) -> None:
    metadata, error = BAD_METADATA[case]
    _assert_refused(register(web, statement(operator_key), **metadata), 400, error)
    assert channel_count(provider) == 0 and spent_statements(provider) == 0


def test_replayed_statement(web: Any, provider: Provider, operator_key: bytes) -> None:
    once = statement(operator_key)
    assert register(web, once).status_code == 201
    _assert_refused(register(web, once), 400, "invalid_software_statement")
    assert channel_count(provider) == 1


def test_refused_request_does_not_spend_the_statement(
    web: Any, provider: Provider, operator_key: bytes
) -> None:
    once = statement(operator_key)
    _assert_refused(register(web, once, scope="essc.idnumber"), 400, "invalid_client_metadata")
    assert register(web, once).status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", JSON),
        (b"[1, 2]", JSON),
        (b'{"scope": NaN}', JSON),
        (b"\xff\xfe{}", JSON),
        (b"[" * 30_000 + b"]" * 30_000, JSON),
        (b"grant_types=client_credentials", "application/x-www-form-urlencoded"),
    ],
    ids=["malformed", "array", "nan", "not utf-8", "deep", "form"],
)
def test_malformed_body(web: Any, provider: Provider, body: bytes, content_type: str) -> None:
    response = web.post("/register", data=body, content_type=content_type)
    _assert_refused(response, 400 if len(body) < 64 * 1024 else 413, _error_for(len(body)))
    assert channel_count(provider) == 0


def _error_for(size: int) -> str:
    return "invalid_client_metadata" if size < 64 * 1024 else "invalid_request"


def test_oversized_body(web: Any, provider: Provider, operator_key: bytes) -> None:
    huge = {"software_statement": statement(operator_key), "client_name": "x" * 70_000}
    _assert_refused(web.post("/register", json=huge), 413, "invalid_request")
    assert channel_count(provider) == 0 and spent_statements(provider) == 0


def test_management_refusals(web: Any, provider: Provider, operator_key: bytes) -> None:
    mine = register(web, statement(operator_key)).json
    theirs = register(web, statement(operator_key)).json
    uri, token_value = f"/register/{mine['client_id']}", mine["registration_access_token"]

    missing = web.get(uri)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = web.get(uri, headers=bearer("x" * 43))
    _assert_refused(wrong, 401, "invalid_token")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    other = web.get(f"/register/{theirs['client_id']}", headers=bearer(token_value))
    _assert_refused(other, 403, "insufficient_scope")
    unknown = web.get("/register/bank-ffffffffffffffff", headers=bearer(token_value))
    _assert_refused(unknown, 403, "insufficient_scope")
    assert (
        web.delete(f"/register/{theirs['client_id']}", headers=bearer(token_value)).status_code
        == 403
    )

    read = editable(web.get(uri, headers=bearer(token_value)).json)
    escalate = {**read, "scope": "essc.ecard essc.idnumber"}
    _assert_refused(
        web.put(uri, json=escalate, headers=bearer(token_value)), 400, "invalid_client_metadata"
    )
    other_kind = {**read, "essc_channel_kind": "wechat"}
    _assert_refused(
        web.put(uri, json=other_kind, headers=bearer(token_value)), 400, "invalid_client_metadata"
    )
    no_id = {k: v for k, v in read.items() if k != "client_id"}
    _assert_refused(
        web.put(uri, json=no_id, headers=bearer(token_value)), 400, "invalid_client_metadata"
    )
    bad_secret = {**read, "client_secret": "wrong"}
    _assert_refused(
        web.put(uri, json=bad_secret, headers=bearer(token_value)), 400, "invalid_client_metadata"
    )
    new_statement = {**read, "software_statement": statement(operator_key)}
    _assert_refused(
        web.put(uri, json=new_statement, headers=bearer(token_value)),
        400,
        "invalid_software_statement",
    )
    stranger = web.put(uri, data=b"{not json", content_type=JSON)
    assert stranger.status_code == 401  # authentication before the body is read

    after = editable(web.get(uri, headers=bearer(token_value)).json)
    assert after == read  # nothing was written


def test_suspended_channel_cannot_update(web: Any, provider: Provider, operator_key: bytes) -> None:
    client = onboard(web, provider, statement(operator_key))
    essc_ok(provider, "suspend", client["client_id"])
    uri, headers = (
        client["registration_client_uri"].removeprefix(ISSUER),
        bearer(client["registration_access_token"]),
    )
    read = editable(web.get(uri, headers=headers).json)
    _assert_refused(web.put(uri, json=read, headers=headers), 403, "insufficient_scope")


def test_registration_needs_a_configured_key(
    database_url: str, clock: Any, tmp_path: Path, operator_key: bytes
) -> None:
    from idp.app import create_app

    p = Provider(settings_for(database_url, instance_dir=str(tmp_path)), clock=clock)
    try:
        response = register(
            create_app(p.settings, provider=p).test_client(), statement(operator_key)
        )
        _assert_refused(response, 400, "unapproved_software_statement")
    finally:
        p.db.dispose()


def test_bad_onboarding_jwks_stops_start_up() -> None:
    from idp.settings import ConfigurationError
    from idp.settings import Settings

    for value in ("{", '{"keys": []}', json.dumps({"keys": [{"kty": "EC", "kid": "k", "d": "x"}]})):
        with pytest.raises(ConfigurationError):
            Settings(onboarding_jwks=value).check()


def test_second_tier_ecard_api_stops_with_its_parent(
    web: Any, provider: Provider, operator_key: bytes
) -> None:
    """The channel e-card API (idp.channel_auth.authenticate) applies the token endpoint's rule."""
    parent = onboard(web, provider, statement(operator_key))
    child = onboard(web, provider, statement(operator_key, parent=parent["client_id"]))
    access = token(web, child).json["access_token"]
    before = web.get("/api/v1/ecards/unknown-sign-no", headers=bearer(access))
    assert before.status_code == 404
    essc_ok(provider, "suspend", parent["client_id"])
    after = web.get("/api/v1/ecards/unknown-sign-no", headers=bearer(access))
    assert after.status_code == 401


def test_client_cache_delays_neither_approval_nor_deletion(
    database_url: str, clock: Any, tmp_path: Path, operator_key: bytes
) -> None:
    """Inactive clients are not cached; a deletion through this process drops the entry."""
    from idp.app import create_app

    jwks = json.dumps(public_jwks(operator_key))
    settings = settings_for(database_url, instance_dir=str(tmp_path), onboarding_jwks=jwks)
    assert settings.client_cache_seconds == 30
    p = Provider(settings, clock=clock)
    try:
        web = create_app(p.settings, provider=p).test_client()
        created = register(web, statement(operator_key)).json
        client = {**created, "secret": created["client_secret"]}
        assert token(web, client).status_code == 401  # pending, looked up once
        essc_ok(p, "approve", client["client_id"])  # another process: no forget here
        assert token(web, client).status_code == 200  # cached now, as active
        uri = f"/register/{client['client_id']}"
        headers = bearer(client["registration_access_token"])
        assert web.delete(uri, headers=headers).status_code == 204
        assert token(web, client).status_code == 401
    finally:
        p.db.dispose()


def test_embed_origins_are_registered_read_and_updated(web: Any, operator_key: bytes) -> None:
    """``essc_embed_origins`` (channels.embedding) through RFC 7591 and RFC 7592."""
    origin = "https://bank.example.cn"
    created = register(web, statement(operator_key), essc_embed_origins=[origin])
    assert created.status_code == 201, created.json
    assert created.json["essc_embed_origins"] == [origin]
    uri = f"/register/{created.json['client_id']}"
    auth = bearer(created.json["registration_access_token"])
    read = web.get(uri, headers=auth).json
    assert read["essc_embed_origins"] == [origin]
    cleared = web.put(uri, json={**editable(read), "essc_embed_origins": []}, headers=auth)
    assert cleared.status_code == 200 and cleared.json["essc_embed_origins"] == []
    for hostile in (["https://*.example.cn"], ["https://a.cn/x"], "https://a.cn", [7]):
        refused = register(web, statement(operator_key), essc_embed_origins=hostile)
        assert refused.status_code == 400, hostile
        assert refused.json["error"] == "invalid_client_metadata"
