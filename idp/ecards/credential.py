"""The e-card credential: an SD-JWT VC whose personal claims are masked by default.

The e-SSC shows name and ID number masked and reveals them on an explicit tap
(essc-domain.md 1.1, "默认脱敏"). SD-JWT VC (draft-ietf-oauth-sd-jwt-vc) gives the same shape
cryptographically: the signed payload carries only the masked forms in the clear; the full name,
ID number, card number and region code travel as Disclosures the channel reveals one by one to a
verifier. Why this and not a plain JWT: ``docs/ecards.md`` ("The credential").

Salts are keyed hashes of (``jti``, claim name): unpredictable without the HMAC root, and stable,
so an idempotent retry rebuilds the same Disclosures and digests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idp.cardholders.gb11643 import mask_card_number
from idp.cardholders.gb11643 import mask_id_number
from idp.ecards import sd_jwt_vc

#: How long the credential is valid; the live status is always the query API's [U].
CREDENTIAL_TTL = 365 * 24 * 3600
VCT_PATH = "/credentials/ecard/v1"


def vct(issuer: str) -> str:
    return issuer + VCT_PATH


def mask_name(name: str) -> str:
    """``张*``, ``欧阳**``: the first character only, as the e-SSC card face shows it."""
    return name[:1] + "*" * (len(name) - 1)


@dataclass(frozen=True)
class CredentialSubject:
    sign_no: str
    jti: str
    issued_at: int
    level: int
    client_id: str
    name: str
    id_number: str
    card_number: str
    region_code: str


def build(
    subject: CredentialSubject,
    *,
    issuer: str,
    sign: Callable[[dict[str, Any], str], str],
    keyed_hash: Callable[[str, str], str],
) -> sd_jwt_vc.IssuedSdJwt:
    """The SD-JWT VC for one e-card (``sub`` is the sign number, ``aud``-free: channel-held)."""
    clear = {
        "iss": issuer,
        "vct": vct(issuer),
        "sub": subject.sign_no,
        "jti": subject.jti,
        "iat": subject.issued_at,
        "exp": subject.issued_at + CREDENTIAL_TTL,
        "essc_level": subject.level,
        "essc_channel": subject.client_id,
        "name_masked": mask_name(subject.name),
        "id_number_masked": mask_id_number(subject.id_number),
        "card_number_masked": mask_card_number(subject.card_number),
    }
    disclosable = {
        "name": subject.name,
        "id_number": subject.id_number,
        "card_number": subject.card_number,
        "region_code": subject.region_code,
    }
    return sd_jwt_vc.issue(
        sign,
        clear=clear,
        disclosable=disclosable,
        salt=lambda name: keyed_hash("ecard-sd-salt", f"{subject.jti}:{name}")[:32],
    )
