"""``essc audit verify`` names the record that was changed, deleted, inserted or reordered in
the database (past the append-only triggers), on SQLite and PostgreSQL, and exits 1."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from idp.events.chain import link
from idp.provider import Provider
from tests.events.audit_helpers import essc
from tests.events.audit_helpers import forged
from tests.events.audit_helpers import insert
from tests.events.audit_helpers import row
from tests.events.audit_helpers import tamper
from tests.events.audit_helpers import write_records

COUNT = 10


@pytest.fixture
def trail(provider: Provider) -> Provider:
    write_records(provider, COUNT)
    return provider


def problems(provider: Provider) -> list[tuple[int, str]]:
    code, report, stderr = essc(provider, "audit", "verify")
    assert code == 1, report
    found = [(p["seq"], p["reason"]) for p in report["problems"]]
    first_seq, first_reason = found[0]
    assert f"first at seq {first_seq}: {first_reason}" in stderr
    return found


def test_an_intact_trail_verifies_and_is_checkpointed(trail: Provider) -> None:
    code, report, _ = essc(trail, "audit", "verify")
    assert (code, report) == (
        0,
        {"records": COUNT, "last_seq": COUNT, "checkpoints": 0, "problems": []},
    )
    code, made, _ = essc(trail, "audit", "checkpoint")
    assert code == 0 and made["seq"] == COUNT and made["hash"] == row(trail, COUNT)["hash"]
    claims = trail.keyring.signing.verify_archived(made["jws"], typ="essc-audit-checkpoint+jwt")
    assert claims == {"seq": COUNT, "hash": made["hash"], "iat": made["at"]}
    assert essc(trail, "audit", "checkpoint")[1] == made, "nothing new: the same checkpoint"
    write_records(trail, 2)
    code, report, _ = essc(trail, "audit", "verify")
    assert (code, report["checkpoints"], report["last_seq"]) == (0, 1, COUNT + 2)


def test_a_changed_record_is_named(trail: Provider) -> None:
    tamper(trail, "UPDATE audit_events SET client_id = 'other' WHERE seq = 5")
    assert problems(trail) == [(5, "altered: its fields do not match its hash")]


def test_a_changed_record_with_a_fresh_hash_shows_at_the_next(trail: Provider) -> None:
    changed = {**row(trail, 5), "client_id": "other"}
    tamper(
        trail,
        "UPDATE audit_events SET client_id = 'other', hash = :h WHERE seq = 5",
        h=link(changed["prev_hash"], 5, changed),
    )
    assert problems(trail) == [(6, "does not follow seq 5: that record was rewritten")]


def test_a_deleted_record_is_named(trail: Provider) -> None:
    tamper(trail, "DELETE FROM audit_events WHERE seq = 5")
    assert problems(trail) == [(5, "missing: seq 5 not in the trail (deleted)")]


def test_a_deleted_record_with_the_rest_renumbered_is_named(trail: Provider) -> None:
    tamper(
        trail,
        "DELETE FROM audit_events WHERE seq = 5",
        "UPDATE audit_events SET seq = -seq WHERE seq > 5",
        "UPDATE audit_events SET seq = -seq - 1 WHERE seq < 0",
        "UPDATE audit_chain_head SET seq = seq - 1",
    )
    [(seq, reason)] = problems(trail)
    assert seq == 5 and reason.startswith("out of order: it was written as seq 6")


def test_records_deleted_from_the_end_are_named_by_the_head(trail: Provider) -> None:
    tamper(trail, "DELETE FROM audit_events WHERE seq >= 9")
    assert problems(trail) == [
        (
            9,
            "missing: seq 9 to 10 counted by the chain head but not in the trail"
            " (deleted from the end)",
        )
    ]


def test_the_end_deleted_and_the_head_rewound_is_named_by_the_checkpoint(trail: Provider) -> None:
    assert essc(trail, "audit", "checkpoint")[0] == 0
    tamper(
        trail,
        "DELETE FROM audit_events WHERE seq = 10",
        "UPDATE audit_chain_head SET seq = 9, hash = :h",
        h=row(trail, 9)["hash"],
    )
    [(seq, reason)] = problems(trail)
    assert seq == 10 and reason.startswith("missing: the checkpoint of ")


def test_a_record_inserted_in_the_middle_is_named(trail: Provider) -> None:
    tamper(
        trail,
        "UPDATE audit_events SET seq = -seq WHERE seq >= 5",
        "UPDATE audit_events SET seq = -seq + 1 WHERE seq < 0",
        "UPDATE audit_chain_head SET seq = seq + 1",
    )
    insert(trail, forged(trail, 5, after=4))
    found = problems(trail)
    assert found[0] == (5, "inserted: seq 5 not in the chain when seq 6 was written after seq 4")
    assert found[1][0] == 6 and found[1][1].startswith("out of order: it was written as seq 5")


def test_a_record_appended_past_the_head_is_named(trail: Provider) -> None:
    insert(trail, forged(trail, COUNT + 1, after=COUNT))
    assert problems(trail) == [(11, "inserted: seq 11 after the chain head (seq 10)")]


def test_reordered_records_are_named(trail: Provider) -> None:
    tamper(
        trail,
        "UPDATE audit_events SET seq = -5 WHERE seq = 5",
        "UPDATE audit_events SET seq = 5 WHERE seq = 6",
        "UPDATE audit_events SET seq = 6 WHERE seq = -5",
    )
    reordered = "(records reordered, or renumbered after a deletion or insertion)"
    assert problems(trail) == [
        (5, f"out of order: it was written as seq 6 {reordered}"),
        (6, f"out of order: it was written as seq 5 {reordered}"),
    ]


def test_a_rewritten_chain_is_caught_by_the_checkpoint(trail: Provider) -> None:
    """Someone who rebuilds every hash after a change fools the chain, not the signature."""
    assert essc(trail, "audit", "checkpoint")[0] == 0
    prev_hash = row(trail, 2)["hash"]
    statements, values = [], {}
    for seq in range(3, COUNT + 1):
        record = row(trail, seq)
        if seq == 3:
            record["client_id"] = "other"
        digest = link(prev_hash, seq, record)
        statements.append(
            f"UPDATE audit_events SET client_id = :c{seq}, prev_hash = :p{seq}, hash = :h{seq}"  # noqa: S608
            f" WHERE seq = {seq}"
        )
        values.update({f"c{seq}": record["client_id"], f"p{seq}": prev_hash, f"h{seq}": digest})
        prev_hash = digest
    statements.append("UPDATE audit_chain_head SET hash = :head")
    tamper(trail, *statements, head=prev_hash, **values)
    [(seq, reason)] = problems(trail)
    assert seq == COUNT and reason.startswith("rewritten: its hash is not the one the checkpoint")


def test_a_forged_checkpoint_is_named(trail: Provider) -> None:
    _, made, _ = essc(trail, "audit", "checkpoint")
    header, claims, signature = made["jws"].split(".")
    tamper(
        trail, "UPDATE audit_checkpoints SET jws = :j", j=f"{header}.{claims}.{signature[:-4]}AAAA"
    )
    assert problems(trail) == [(COUNT, "checkpoint: its signature does not verify")]


def test_no_checkpoint_vouches_for_an_unsound_trail(trail: Provider) -> None:
    tamper(trail, "DELETE FROM audit_events WHERE seq = 3")
    code, report, stderr = essc(trail, "audit", "checkpoint")
    assert code == 1 and report == {
        "problems": [{"seq": 3, "reason": "missing: seq 3 not in the trail (deleted)"}]
    }
    assert "first at seq 3" in stderr
    with trail.db.read() as s:
        assert s.scalar(text("SELECT count(*) FROM audit_checkpoints")) == 0


def test_checkpoints_are_append_only(trail: Provider) -> None:
    assert essc(trail, "audit", "checkpoint")[0] == 0
    for statement in ("UPDATE audit_checkpoints SET at = 0", "DELETE FROM audit_checkpoints"):
        with pytest.raises(DBAPIError), trail.db.transaction() as s:
            s.execute(text(statement))


def test_an_empty_trail_verifies_and_has_nothing_to_checkpoint(provider: Provider) -> None:
    assert essc(provider, "audit", "verify")[:2] == (
        0,
        {"records": 0, "last_seq": 0, "checkpoints": 0, "problems": []},
    )
    code, report, _ = essc(provider, "audit", "checkpoint")
    assert code == 1 and report["problems"][0]["reason"].startswith("nothing to checkpoint")
    assert json.dumps(report)
