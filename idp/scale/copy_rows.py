"""The rows of one chunk of cardholders, as the application itself would write them.

The ID number is sealed with the key ring's field key (``KeyRing.encrypt_field``, AES-256-GCM,
context ``person.id_number``) and found by its blind index (``Cardholders.id_number_index``),
so ``find_by_credential`` and e-card issuance find these people. The PIN hash is computed once
per PIN and shared by every row (argon2 at 19 MiB costs tens of milliseconds; ten million
would take days): each row is still a real argon2id hash the sign-in verifies.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from idp.cardholders.gb11643 import mask_id_number
from idp.cardholders.service import ID_CONTEXT
from idp.cardholders.service import FieldEncryption
from idp.scale.people import Cardholder
from idp.scale.people import Permutation
from idp.scale.people import cardholder

PERSON_COLUMNS = (
    "id", "id_number_enc", "id_number_index", "id_number_masked", "name", "region_code",
    "pin_hash", "pin_failures", "created_at",
)  # fmt: skip
CARD_COLUMNS = (
    "id", "person_id", "card_number", "status", "region_code", "issued_at", "updated_at",
    "bank_account_linked", "production_stage",
)  # fmt: skip
ECARD_COLUMNS = (
    "sign_no", "person_id", "card_id", "client_id", "channel_subject", "level", "status",
    "evidence", "credential_jti", "issued_at", "updated_at", "idempotency_key",
)  # fmt: skip

Row = tuple[object, ...]


@dataclass(frozen=True)
class DataSet:
    """What every row of one load shares: the seed, the time, the channels and the hashes."""

    seed: int
    epoch: int
    channels: tuple[str, ...]
    pin_hashes: dict[str, str]
    encrypt_field: FieldEncryption
    id_number_index: Callable[[str], str]

    @property
    def permutation(self) -> Permutation:
        return Permutation.from_seed(self.seed)


@dataclass
class Chunk:
    persons: list[Row]
    cards: list[Row]
    ecards: list[Row]


def _token(rng: random.Random, size: int) -> str:
    """``secrets.token_urlsafe(size)``'s shape, from the seeded generator."""
    return base64.urlsafe_b64encode(rng.randbytes(size)).rstrip(b"=").decode("ascii")


def chunk(data: DataSet, start: int, stop: int) -> Chunk:
    """Rows for cardholders ``start`` to ``stop - 1``: one person, one card in normal status
    and one active level 1 e-card each, the e-card held by channel ``i mod len(channels)``."""
    rng = random.Random(f"essc-scale-rows-{data.seed}-{start}")  # noqa: S311 - a reproducible data set, not secrets
    permutation, epoch = data.permutation, data.epoch
    evidence = json.dumps({"real_name_level": 3, "face_verified_at": epoch})
    out = Chunk([], [], [])
    for i in range(start, stop):
        c = cardholder(i, data.seed, permutation)
        person_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        card_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        out.persons.append(_person(data, c, person_id))
        out.cards.append(
            (card_id, person_id, c.card_number, "normal", c.region_code, epoch, epoch, False,
             "collected")
        )  # fmt: skip
        channel = data.channels[i % len(data.channels)]
        out.ecards.append(
            (_token(rng, 32), person_id, card_id, channel, f"scale-{i:010d}", 1, "active",
             evidence, _token(rng, 16), epoch, epoch, f"scale-{data.seed}-{i}")
        )  # fmt: skip
    return out


def _person(data: DataSet, c: Cardholder, person_id: str) -> Row:
    return (
        person_id,
        data.encrypt_field(c.id_number, context=ID_CONTEXT),
        data.id_number_index(c.id_number),
        mask_id_number(c.id_number),
        c.name,
        c.region_code,
        data.pin_hashes[c.pin],
        0,
        data.epoch,
    )
