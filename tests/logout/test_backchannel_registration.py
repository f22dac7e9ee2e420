"""Back-Channel Logout 1.0 2.2 client metadata through RFC 7591 ``/register`` and
``essc clients add``: stored on the channel row, returned, and hostile values refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.provider import Provider
from tests.channel_admin.test_registration import register
from tests.channel_admin.test_registration import statement
from tests.conftest import ISSUER

pytestmark = pytest.mark.onboarding

BCL = "https://portal.example.gov.cn/bcl?x=1"


def _portal(web: Any, operator_key: bytes, **metadata: Any) -> Any:
    software_statement = statement(
        operator_key, kind="portal", scope="openid profile", grants=("authorization_code",)
    )
    return register(
        web,
        software_statement,
        grant_types=["authorization_code"],
        redirect_uris=["https://portal.example.gov.cn/cb"],
        scope="openid",
        **metadata,
    )


def test_register_stores_and_returns_the_metadata(
    web: Any, provider: Provider, operator_key: bytes
) -> None:
    response = _portal(
        web, operator_key, backchannel_logout_uri=BCL, backchannel_logout_session_required=True
    )
    assert response.status_code == 201, response.json
    assert response.json["backchannel_logout_uri"] == BCL
    assert response.json["backchannel_logout_session_required"] is True
    client = provider.clients.get(response.json["client_id"])
    assert client is not None and client.backchannel_logout_uri == BCL


def test_without_it_nothing_is_returned(web: Any, operator_key: bytes) -> None:
    response = _portal(web, operator_key)
    assert response.status_code == 201, response.json
    assert "backchannel_logout_uri" not in response.json
    assert response.json["backchannel_logout_session_required"] is False


@pytest.mark.parametrize(
    "metadata",
    [
        {"backchannel_logout_uri": "http://portal.example.gov.cn/bcl"},
        {"backchannel_logout_uri": "https://portal.example.gov.cn/bcl#f"},
        {"backchannel_logout_uri": "bcl"},
        {"backchannel_logout_uri": ["https://portal.example.gov.cn/bcl"]},
        {"backchannel_logout_uri": "https://portal.example.gov.cn/" + "a" * 600},
        {"backchannel_logout_uri": "https://portal.example.gov.cn/\u7684"},
        {"backchannel_logout_session_required": "true"},
        {"backchannel_logout_session_required": 1},
    ],
)
def test_hostile_metadata_is_invalid_client_metadata(
    web: Any, operator_key: bytes, metadata: dict[str, Any]
) -> None:
    response = _portal(web, operator_key, **metadata)
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_client_metadata"


def _cli(provider: Provider, *args: str) -> Any:
    env = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_REDIS_URL": provider.settings.redis_url or None,
        "ESSC_ISSUER": ISSUER,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
        "ESSC_ONBOARDING_JWKS": provider.settings.onboarding_jwks,
    }
    base = ["clients", "add", "--name", "Portal", "--kind", "portal"]
    base += ["--grant-type", "authorization_code", "--auth-method", "client_secret_basic"]
    base += ["--redirect-uri", "https://portal.example.gov.cn/cb"]
    return CliRunner().invoke(main, [*base, *args], env=env)


def test_clients_add_takes_the_options(provider: Provider) -> None:
    result = _cli(
        provider, "--backchannel-logout-uri", BCL, "--backchannel-logout-session-required"
    )
    assert result.exit_code == 0, result.output
    client = provider.clients.get(json.loads(result.output)["client_id"])
    assert client is not None
    assert (client.backchannel_logout_uri, client.backchannel_logout_session_required) == (
        BCL,
        True,
    )


def test_clients_add_refuses_a_plain_http_uri(provider: Provider) -> None:
    result = _cli(provider, "--backchannel-logout-uri", "http://portal.example.gov.cn/bcl")
    assert result.exit_code == 1
    assert "backchannel_logout_uri must be an https URI" in result.output
