"""``essc audit``: check the tamper-evident audit trail and sign checkpoints of it."""

from __future__ import annotations

import click

from idp.cli.common import emit
from idp.cli.common import provider
from idp.events.verify import Problem


@click.group()
def audit() -> None:
    """The audit trail's hash chain and signed checkpoints."""


@audit.command("verify")
def audit_verify() -> None:
    """Check every record, the chain head and every checkpoint; exit 1 naming each problem."""
    from idp.events import trail

    p = provider()
    ring = p.keyring

    def check(jws: str) -> dict[str, object]:
        return ring.signing.verify_archived(jws, typ=trail.TYP)

    try:
        with p.db.read() as session:
            state = trail.verify(session, check)
    finally:
        p.db.dispose()
    emit(
        {
            "records": state.records,
            "last_seq": state.last_seq,
            "checkpoints": len(state.marked),
            "problems": _listed(state.problems),
        }
    )
    if state.problems:
        _fail(state.problems)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Check the records since the last checkpoint, then sign ``{seq, hash, time}`` of the
    last record with the key ring (run from cron); prints the checkpoint."""
    from idp.events import trail

    p = provider()
    ring = p.keyring
    try:
        with p.unit_of_work() as uow:
            made = trail.checkpoint(
                uow.session, lambda claims: ring.sign(claims, alg="ES256", typ=trail.TYP), p.now()
            )
    except trail.UnsoundTrail as exc:
        emit({"problems": _listed(exc.problems)})
        _fail(exc.problems)
    finally:
        p.db.dispose()
    emit({"seq": made.seq, "hash": made.hash, "at": made.at, "jws": made.jws})


def _listed(problems: list[Problem]) -> list[dict[str, object]]:
    return [{"seq": problem.seq, "reason": problem.reason} for problem in problems]


def _fail(problems: list[Problem]) -> None:
    first = problems[0]
    raise click.ClickException(
        f"the audit trail does not verify: {len(problems)} problem(s); first at seq "
        f"{first.seq}: {first.reason}"
    )
