"""Claims released per scope (OIDC Core 5.4 for ``profile``; the e-card's own scopes).

| scope           | claims                                                          |
|-----------------|-----------------------------------------------------------------|
| openid          | sub                                                             |
| profile         | name                                                            |
| essc.card       | essc_card_number (masked), essc_card_status, essc_region_code   |
| essc.idnumber   | essc_id_number (full; only clients allowed it, only on consent) |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cardholder:
    """What the claims need of a cardholder; the card number arrives masked, never whole."""

    name: str
    region_code: str
    card_number_masked: str
    card_status: str | None
    id_number: Callable[[], str]


def claims_for(scopes: tuple[str, ...], sub: str, holder: Cardholder) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": sub}
    if "profile" in scopes:
        claims["name"] = holder.name
    if "essc.card" in scopes:
        claims["essc_card_number"] = holder.card_number_masked
        claims["essc_card_status"] = holder.card_status
        claims["essc_region_code"] = holder.region_code
    if "essc.idnumber" in scopes:
        claims["essc_id_number"] = holder.id_number()
    return claims


SUPPORTED_CLAIMS = [
    "sub",
    "name",
    "essc_card_number",
    "essc_card_status",
    "essc_region_code",
    "essc_id_number",
    "auth_time",
    "acr",
    "amr",
    "sid",
    "nonce",
    "at_hash",
]
