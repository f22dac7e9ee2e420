"""PKCE (RFC 7636), S256 only: ``plain`` offers no protection against a leaked code."""

from __future__ import annotations

import hashlib
import hmac
import re

from idp.errors import InvalidGrant
from idp.errors import InvalidRequest
from keys.jwk import b64url

# RFC 7636 4.1: 43-128 unreserved characters. A S256 challenge is exactly 43 base64url chars.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def check_challenge(challenge: str | None, method: str | None) -> str:
    """Authorization request side (RFC 7636 4.3): a challenge is required, and S256 with it."""
    if challenge is None:
        raise InvalidRequest("code_challenge is required (PKCE S256)")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge is malformed")
    return challenge


def check_verifier(verifier: str | None, challenge: str) -> None:
    """Token request side (RFC 7636 4.6)."""
    if verifier is None:
        raise InvalidRequest("code_verifier is required")
    if not _VERIFIER.fullmatch(verifier):
        raise InvalidRequest("code_verifier is malformed")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match", detail="PKCE mismatch")
