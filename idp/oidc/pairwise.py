"""Subject identifiers (OIDC Core 8).

Pairwise by default (8.1): ``sub`` = HMAC(pairwise key, sector_identifier | person id), so two
sectors cannot join their users; ``public`` (the person's stable id) only where configured.
"""

from __future__ import annotations

from collections.abc import Callable

from channels.client import Client


def subject_for(client: Client, person_id: str, keyed_hash: Callable[[str, str], str]) -> str:
    if client.subject_type == "public":
        return person_id
    sector = client.sector_identifier or client.client_id
    return keyed_hash("pairwise", f"{sector}|{person_id}")
