"""Whether a browser session may answer an authorization request as it is, and at which
``acr`` (OIDC Core 3.1.2.1 ``prompt``, ``max_age``, ``acr_values``; 5.5.1.1 essential ``acr``).

Pure: the views hand in the session's assurance and the clock, and act on the verdict.
``SIGN_IN`` means essc-idp's own page can do it (the PIN, which gives a fresh ``auth_time``);
``APP`` means a stronger level than that page offers is required, which only the citizen's
e-card app can provide (scan-to-sign-in or in-channel sign-in).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from idp.interaction.assurance import ACR_FACE
from idp.interaction.assurance import ACR_PIN
from idp.interaction.assurance import meets
from idp.interaction.assurance import strength
from idp.oauth.authorize import AuthorizationRequest


class Verified(Protocol):
    """What a session says about its sign-in (a ``BrowserSession`` row, an ``Assurance``)."""

    @property
    def acr(self) -> str: ...
    @property
    def auth_time(self) -> int: ...


class Need(Enum):
    NOTHING = "nothing"
    SIGN_IN = "sign_in"
    APP = "app"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Verdict:
    need: Need
    #: The ``acr`` to assert in the ID token when ``need`` is ``NOTHING``.
    acr: str = ""


def effective_acr(session: Verified, *, now: float, face_max_age: int) -> str:
    """A face verification counts only while it is fresh (``face_acr_max_age``); after that
    the session is held to the weakest level, failing closed rather than guessing which
    other level the channel verified."""
    if session.acr == ACR_FACE and now - session.auth_time > face_max_age:
        return ACR_PIN
    return session.acr


def too_old(elapsed: float, max_age: int) -> bool:
    """OIDC Core 3.1.2.1: re-authenticate when more than ``max_age`` seconds have passed;
    ``max_age=0`` is equivalent to ``prompt=login``, even within the second of the sign-in."""
    return max_age == 0 or elapsed > max_age


def decide(
    authz: AuthorizationRequest, session: Verified | None, *, now: float, face_max_age: int
) -> Verdict:
    """The first rule that asks for more decides: no session, ``prompt=login`` or an exceeded
    ``max_age`` ask for a sign-in; an essential ``acr`` above the session's asks for the app."""
    known = tuple(v for v in authz.acr_values if strength(v) >= 0)
    if authz.acr_essential and not known:
        return Verdict(Need.UNSUPPORTED)
    if session is None or "login" in authz.prompt:
        return Verdict(Need.SIGN_IN)
    if authz.max_age is not None and too_old(now - session.auth_time, authz.max_age):
        return Verdict(Need.SIGN_IN)
    have = effective_acr(session, now=now, face_max_age=face_max_age)
    met = next((want for want in known if meets(have, want)), None)
    if met is not None:
        return Verdict(Need.NOTHING, met)
    if authz.acr_essential:
        return Verdict(Need.APP)
    # Voluntary (OIDC Core 3.1.2.1): answer with what the session has; the portal reads acr.
    return Verdict(Need.NOTHING, have)


def needs_app(authz: AuthorizationRequest) -> bool:
    """Whether no level essc-idp's own page reaches would satisfy the request (the sign-in
    page then says so, instead of only offering a PIN that cannot be enough)."""
    known = [v for v in authz.acr_values if strength(v) >= 0]
    return authz.acr_essential and bool(known) and not any(meets(ACR_PIN, v) for v in known)
