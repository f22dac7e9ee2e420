"""Codes as pictures (segno): SVG or PNG, error correction M, never boosted, so the symbol is
the version docs/qr-token.md promises (6; with an actor, 6 as well)."""

from __future__ import annotations

import io

import segno

from idp.qr.token import QrTokenError
from idp.qr.token import decode
from idp.qr.verifier import OfflineVerifier

ERROR_CORRECTION = "m"
MAX_SCALE = 20
#: The version a code must fit; the format is sized for it (docs/qr-token.md 3).
MAX_VERSION = 6


def symbol(code: str) -> segno.QRCode:
    qr = segno.make_qr(code, error=ERROR_CORRECTION, boost_error=False, mode="alphanumeric")
    # Only text not of our format could be larger, and decode refused that already.
    if not isinstance(qr.version, int) or qr.version > MAX_VERSION:
        raise QrTokenError("malformed", "too long for the QR version the format promises")
    return qr


def check_signed(verifier: OfflineVerifier, code: str) -> None:
    """Refuse what is not a code our keys signed (its times and purpose do not matter here)."""
    decoded = decode(code)
    if not verifier.signed_by_known_key(decoded):
        raise QrTokenError("bad_signature")


def svg(code: str, scale: int = 4, *, fluid: bool = False) -> bytes:
    """``fluid``: no width and height, only a viewBox, so a page's CSS sizes it whole."""
    out = io.BytesIO()
    symbol(code).save(out, kind="svg", scale=scale, border=4, xmldecl=False, omitsize=fluid)
    return out.getvalue()


def png(code: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    symbol(code).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
