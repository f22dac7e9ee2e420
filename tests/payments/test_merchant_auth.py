"""A merchant's ways in: a client credentials token got with private_key_jwt (RFC 7523), or its
client certificate (RFC 8705) forwarded by the TLS proxy; either needs kind merchant."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from channels.kinds import DEFAULT_SCOPES
from channels.kinds import ChannelKind
from idp.store.channels import ChannelRow
from tests.channel_auth.test_channel_auth import CERT_HEADER
from tests.channel_auth.test_channel_auth import self_signed
from tests.channel_auth.test_channel_auth import thumbprint_of
from tests.ecard_helpers import assert_problem
from tests.oauth.test_client_auth import Merchant
from tests.oauth.test_client_auth import token_request
from tests.payments.helpers import add_merchant
from tests.payments.helpers import authorize
from tests.payments.helpers import pay_body
from tests.payments.helpers import payer


def test_merchants_get_the_redeem_and_pay_scopes_by_default() -> None:
    assert {"essc.qr.redeem", "essc.pay"} <= DEFAULT_SCOPES[ChannelKind.MERCHANT]
    others = [k for k in ChannelKind if k is not ChannelKind.MERCHANT]
    assert all("essc.pay" not in DEFAULT_SCOPES[k] for k in others)


def test_private_key_jwt_merchant_pays(provider: Any, web: Any, cardholder: Any) -> None:
    merchant = Merchant(provider)
    with provider.db.transaction() as s:
        row = s.get(ChannelRow, merchant.client_id)
        assert row is not None
        row.scopes = ["essc.pay"]
    provider.clients.forget(merchant.client_id)
    token = token_request(web, merchant.assertion(), scope="essc.pay")
    assert token.status_code == 200, token.get_data(as_text=True)
    holder = payer(provider, web, cardholder)
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    response = authorize(web, headers, pay_body(holder.code()))
    assert response.status_code == 201 and response.json["state"] == "authorized"


def test_mtls_merchant_pays_and_a_stranger_certificate_does_not(
    provider: Any, web: Any, cardholder: Any, monkeypatch: Any
) -> None:
    pem = self_signed("shop.example")
    merchant = add_merchant(provider)
    with provider.db.transaction() as s:
        row = s.get(ChannelRow, merchant.client_id)
        assert row is not None
        row.api_auth_scheme, row.tls_client_thumbprint = "tls_client_auth", thumbprint_of(pem)
    monkeypatch.setattr(
        provider, "settings", provider.settings.with_overrides(tls_client_cert_header=CERT_HEADER)
    )
    holder = payer(provider, web, cardholder)
    headers = {CERT_HEADER: quote(pem, safe="")}
    response = authorize(web, headers, pay_body(holder.code()))
    assert response.status_code == 201, response.get_data(as_text=True)
    stranger = {CERT_HEADER: quote(self_signed("other.example"), safe="")}
    assert_problem(authorize(web, stranger, pay_body(holder.code())), 401, "unauthorized")
    assert_problem(authorize(web, {}, pay_body(holder.code())), 401, "unauthorized")
    basic = {"Authorization": "Basic Zm9vOmJhcg=="}
    assert_problem(authorize(web, basic, pay_body(holder.code())), 401, "unauthorized")
