"""A suspended or deleted channel's tokens stop at every resource endpoint at once (issue 6).

The e-card API reads the channel row in the request's transaction
(``idp.channel_auth.authenticate``);
``/userinfo`` and introspection (RFC 7662) now do the same, so a suspension made by the
``essc channels`` CLI in another process counts before the client registry's 30-second cache
expires. Runs on SQLite and on PostgreSQL/Redis.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.provider import Provider
from idp.store.channels import ChannelRow
from tests.conftest import Registered
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import register


def channels_cli(provider: Provider, *args: str) -> dict[str, Any]:
    """``essc channels ...`` with its own Provider: its cache is not the web app's."""
    env = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_REDIS_URL": provider.settings.redis_url,
        "ESSC_INSTANCE_DIR": provider.settings.instance_dir,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
    }
    result = CliRunner().invoke(main, ["channels", *args], env=env)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def userinfo(web: Any, token: str) -> Any:
    return web.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def introspect(web: Any, client: Registered, token: str) -> dict[str, Any]:
    auth = basic(client.client_id, client.client_secret)
    response = web.post("/introspect", data={"token": token}, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.json
    return body


def signed_in(web: Any, portal: Registered) -> dict[str, Any]:
    code, verifier = obtain_code(web, portal)
    tokens: dict[str, Any] = exchange(web, portal, code, verifier).json
    assert userinfo(web, tokens["access_token"]).status_code == 200
    assert introspect(web, portal, tokens["access_token"])["active"] is True
    return tokens


def assert_refused(web: Any, portal: Registered, tokens: dict[str, Any]) -> None:
    info = userinfo(web, tokens["access_token"])
    assert info.status_code == 401 and info.json["error"] == "invalid_token"
    assert 'error="invalid_token"' in info.headers["WWW-Authenticate"]
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(web, portal, token) == {"active": False}


def test_cli_suspension_stops_userinfo_and_introspection_at_once(
    provider: Provider, web: Any, cardholder: Any, portal: Registered
) -> None:
    assert provider.settings.client_cache_seconds > 0  # the web app's registry caches
    tokens = signed_in(web, portal)
    channels_cli(provider, "suspend", portal.client_id)  # another process: no forget() here
    assert_refused(web, portal, tokens)

    channels_cli(provider, "resume", portal.client_id)
    # The grant was not revoked: a channel suspension is a stop, a resume lifts it.
    assert userinfo(web, tokens["access_token"]).status_code == 200


def test_a_deleted_channel_s_tokens_are_refused(
    provider: Provider, web: Any, cardholder: Any, portal: Registered
) -> None:
    tokens = signed_in(web, portal)
    with provider.db.transaction() as s:  # as RFC 7592 deletion in another worker leaves it
        row = s.get(ChannelRow, portal.client_id)
        assert row is not None
        row.status = "deleted"
    assert_refused(web, portal, tokens)


def test_a_second_tier_stops_with_its_suspended_parent(
    provider: Provider, web: Any, cardholder: Any
) -> None:
    parent = add_channel(provider, "bank")
    child = register(provider, kind="app", scope="openid profile essc.card")
    with provider.db.transaction() as s:
        row = s.get(ChannelRow, child.client_id)
        assert row is not None
        row.parent_client_id = parent.client_id
    provider.clients.forget(child.client_id)
    tokens = signed_in(web, child)
    suspended = channels_cli(provider, "suspend", parent.client_id)
    assert suspended["children"] == [child.client_id]
    assert_refused(web, child, tokens)


@pytest.mark.parametrize("action", ["suspend", "delete"])
def test_a_channel_s_client_credentials_token_is_inactive(
    provider: Provider, web: Any, action: str
) -> None:
    channel = add_channel(provider, "wechat")
    token = bearer(web, channel)["Authorization"].split(" ", 1)[1]
    assert introspect(web, channel, token)["active"] is True
    if action == "suspend":
        channels_cli(provider, "suspend", channel.client_id)
    else:
        with provider.db.transaction() as s:
            row = s.get(ChannelRow, channel.client_id)
            assert row is not None
            row.status = "deleted"
    assert introspect(web, channel, token) == {"active": False}
    refused = web.get("/api/v1/ecards/" + "x" * 43, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401  # the e-card API, as before
