"""The shape of a channel-signing vector case, and the fixed clocks and stores that build them.

Used by ``generate.py`` and the ``*_cases`` modules beside it, and read back by
``tests/channels``. A case is ``{name, now, request, expect, repeat}``: verify ``request`` at
``now`` ``repeat`` times; every attempt but the last must pass and the last must end in
``expect`` (``"ok"`` or a ``SignatureError`` reason).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from channels.signing.scheme import OwnKey
from keys.notification import rsa_signer


class FixedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def own(key: rsa.RSAPrivateKey, owner: str, serial: str | None) -> OwnKey:
    return OwnKey(owner, rsa_signer(key), serial)


def request(
    method: str = "POST",
    target: str = "/",
    headers: dict[str, str] | None = None,
    body: str = "",
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "method": method,
        "target": target,
        "headers": headers or {},
        "body": body,
        "params": params or {},
    }


def case(
    name: str, now: float, req: dict[str, Any], expect: str, repeat: int = 1
) -> dict[str, Any]:
    return {"name": name, "now": now, "request": req, "expect": expect, "repeat": repeat}


def flip(text: str, index: int = 0) -> str:
    """Change one character, staying inside the base64 alphabet so the result still decodes."""
    char = text[index]
    return text[:index] + ("B" if char == "A" else "A") + text[index + 1 :]


def peer(role: str, owner: str, serial: str | None) -> dict[str, Any]:
    """A key registration in a vector's ``verifier`` section; ``role`` names a TEST-ONLY PEM."""
    return {"key": role, "owner": owner, "serial": serial}


def fixed_nonces(prefix: str) -> Callable[[], str]:
    """A nonce factory returning ``prefix0001``, ``prefix0002``, ... in order."""
    counter = iter(range(1, 10_000))
    return lambda: f"{prefix}{next(counter):04d}"
