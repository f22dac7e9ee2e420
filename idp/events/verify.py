"""Walk the audit chain and say which record is wrong, and why (no database here).

``walk`` reads the records in ``seq`` order once, keeping only a short window of recent hashes,
and reports each problem as ``(seq, reason)``:

- ``altered``: the record's fields do not give its hash (a field was changed);
- ``out of order``: its fields give its hash only under another sequence number, so it was
  written as that record (records reordered, or renumbered after a deletion or insertion);
- ``missing``: numbers are skipped (records deleted);
- ``inserted``: a record chains to one further back than the record before it, so the records
  in between were not in the chain when it was written;
- ``does not follow``: it chains to no record near it (the one before it rewritten).

``check_tail`` compares the end of the walk with the chain head and the signed checkpoints,
which catch what the chain alone cannot: records removed from the end, or a run of records
rewritten with fresh hashes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from idp.events.chain import GENESIS
from idp.events.chain import link

#: How far from its place a moved record is looked for, and how many hashes are remembered.
WINDOW = 64


@dataclass(frozen=True, order=True)
class Problem:
    seq: int
    reason: str


@dataclass
class Walk:
    """What ``walk`` saw: the problems, the last record, and the hashes at checkpointed seqs."""

    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    marked: dict[int, str] = field(default_factory=dict)
    # hash -> (seq, sound) of the last WINDOW records; the offset of a renumbered run.
    recent: OrderedDict[str, tuple[int, bool]] = field(default_factory=OrderedDict)
    offset: int = 0
    last_sound: bool = True

    def report(self, seq: int, reason: str) -> None:
        self.problems.append(Problem(seq, reason))


def walk(
    records: Iterable[Mapping[str, Any]], marks: Collection[int] = (), start: Walk | None = None
) -> Walk:
    """Check every record against its own hash and against the record before it; keep the
    hashes of the records at ``marks`` (the checkpoints' sequence numbers). ``start``: go on
    from a known record (a checkpoint's ``last_seq`` and ``last_hash``) instead of the first."""
    state = start or Walk()
    for record in records:
        _check(state, record)
        if state.last_seq in marks:
            state.marked[state.last_seq] = state.last_hash
    return state


def _check(state: Walk, record: Mapping[str, Any]) -> None:
    seq, prev_hash, digest = int(record["seq"]), str(record["prev_hash"]), str(record["hash"])
    state.records += 1
    gap = seq != state.last_seq + 1
    if seq > state.last_seq + 1:
        state.report(
            state.last_seq + 1,
            f"missing: {_span(state.last_seq + 1, seq - 1)} not in the trail (deleted)",
        )
    elif seq <= state.last_seq:
        state.report(seq, "inserted: this sequence number appears twice")
    written = _written_as(record, seq + state.offset, seq, prev_hash, digest)
    if written is None:
        state.report(seq, "altered: its fields do not match its hash")
    elif written not in (seq, seq + state.offset):
        state.report(
            seq,
            f"out of order: it was written as seq {written} (records reordered, "
            "or renumbered after a deletion or insertion)",
        )
    sound = written == seq
    if written is not None:
        state.offset = written - seq
    if written is not None and not gap and state.last_sound and prev_hash != state.last_hash:
        sound = False
        _misplaced(state, seq, prev_hash, moved=written != seq)
    state.recent[digest] = (seq, sound)
    while len(state.recent) > WINDOW:
        state.recent.popitem(last=False)
    state.last_seq, state.last_hash, state.last_sound = seq, digest, sound


def _span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first} to {last}"


def _written_as(
    record: Mapping[str, Any], expected: int, seq: int, prev_hash: str, digest: str
) -> int | None:
    """The sequence number under which the record's fields give its hash, nearest first."""
    candidates = [expected, seq] + [seq + d for k in range(1, WINDOW + 1) for d in (k, -k)]
    for candidate in dict.fromkeys(candidates):
        if candidate > 0 and link(prev_hash, candidate, record) == digest:
            return candidate
    return None


def _misplaced(state: Walk, seq: int, prev_hash: str, *, moved: bool) -> None:
    """A record that does not chain to the one before it: say what came between."""
    found = state.recent.get(prev_hash)
    if found is not None:
        between = [ok for s, ok in state.recent.values() if found[0] < s < seq]
        if between and all(between):
            state.report(
                found[0] + 1,
                f"inserted: {_span(found[0] + 1, seq - 1)} not in the "
                f"chain when seq {seq} was written after seq {found[0]}",
            )
            return
    if not moved:
        state.report(seq, f"does not follow seq {seq - 1}: that record was rewritten")


def check_tail(
    state: Walk, head: tuple[int, str] | None, checkpoints: Iterable[tuple[int, str, str]]
) -> None:
    """``head``: the chain head's ``(seq, hash)``; ``checkpoints``: signature-checked ``(seq,
    hash, when)``. The head must be the last record; a checkpoint, the record it names."""
    if head is not None and head[0] > state.last_seq:
        state.report(
            state.last_seq + 1,
            f"missing: {_span(state.last_seq + 1, head[0])} counted "
            "by the chain head but not in the trail (deleted from the end)",
        )
    elif head is not None and head[0] < state.last_seq:
        state.report(
            head[0] + 1,
            f"inserted: {_span(head[0] + 1, state.last_seq)} after the chain head (seq {head[0]})",
        )
    elif head is not None and head[1] != state.last_hash:
        state.report(state.last_seq, "does not match the chain head's hash (rewritten)")
    for seq, digest, when in checkpoints:
        stored = state.marked.get(seq)
        if stored is None:
            state.report(
                seq,
                f"missing: the checkpoint of {when} signs it, but it is not in the trail (deleted)",
            )
        elif stored != digest:
            state.report(
                seq,
                f"rewritten: its hash is not the one the checkpoint of {when} "
                "signs (this record or one before it was changed)",
            )
