"""Assurance levels: the authentication context classes (OIDC Core 2 ``acr``) essc-idp asserts,
weakest first, and the methods behind them (RFC 8176 ``amr``).

A portal names the level it needs in ``acr_values`` or an essential ``acr`` claim; a session
meets it when its own level is at least as strong. The order here is the one place that says
which level is stronger.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Card number (or ID number) and the six-digit e-card PIN, typed on essc-idp's own page.
ACR_PIN = "urn:essc:acr:card-pin"
#: Signed in by a channel that holds the cardholder's e-card and verified them by real name
#: (the channel's own login plus its real-name check), asserted to essc-idp.
ACR_CHANNEL_REALNAME = "urn:essc:acr:channel-realname"
#: A face verification (liveness + comparison with the card photo) within the last
#: ``face_acr_max_age`` seconds (settings), by essc-idp or by a channel that asserts it.
ACR_FACE = "urn:essc:acr:face"

#: Weakest first.
ACR_ORDER: tuple[str, ...] = (ACR_PIN, ACR_CHANNEL_REALNAME, ACR_FACE)

#: RFC 8176 method values for each way in.
AMR_PIN: tuple[str, ...] = ("pin",)
AMR_CHANNEL: tuple[str, ...] = ("user",)
AMR_FACE: tuple[str, ...] = ("face",)


@dataclass(frozen=True)
class Assurance:
    """How a session's person was verified: the class, its methods, and when."""

    acr: str
    amr: tuple[str, ...]
    auth_time: int


def strength(acr: str) -> int:
    """The level's rank (0 weakest); -1 for a value essc-idp does not assert."""
    return ACR_ORDER.index(acr) if acr in ACR_ORDER else -1


def meets(have: str, want: str) -> bool:
    """Whether a session at ``have`` satisfies a request for ``want``."""
    return strength(want) >= 0 and strength(have) >= strength(want)
