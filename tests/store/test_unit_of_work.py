"""The unit of work (``idp.store.unit_of_work``, docs/architecture.md "Unit of work"): one
transaction opened at the edge, services that never commit, after-commit actions that run only
once the writes are in; on every configured backend."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idp.ecards.requests import UnbindRequest
from idp.ecards.requests import parse_issue
from idp.ecards.service import FactorRefused
from idp.store.people import Person
from idp.store.security import AuditEvent
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_of
from tests.ecard_helpers import counts
from tests.ecard_helpers import issue_body
from tests.support import CARD


class Later(Exception):
    """Raised by the edge after the services returned: everything they wrote must go."""


def people(provider: Any) -> int:
    with provider.db.read() as s:
        return s.scalar(select(func.count()).select_from(Person)) or 0


def test_a_unit_commits_once_at_its_end_and_then_runs_its_after_commit_actions(
    provider: Any,
) -> None:
    seen: list[int] = []
    with provider.unit_of_work(request_id="req-1") as uow:
        provider.cardholders.enrol(uow, **CARD)
        uow.after_commit(lambda: seen.append(people(provider)))
        assert people(provider) == 0, "nothing is committed before the unit ends"
        assert seen == []
    assert seen == [1], "the action ran after the commit and saw the row"


def test_services_never_commit_an_exception_at_the_edge_rolls_back_everything(
    provider: Any, cardholder: Any
) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    before, ran = counts(provider), []
    with pytest.raises(Later), provider.unit_of_work() as uow:
        issued = provider.ecards.issue(uow, channel, parse_issue(issue_body(provider)))
        assert issued.status == "active"
        uow.after_commit(lambda: ran.append(True))
        raise Later
    assert counts(provider) == before, "the e-card, its audit event and its outbox row went"
    assert ran == [], "after-commit actions do not run for a rolled-back unit"


def test_an_exception_that_keeps_its_writes_commits_them_through_the_same_transaction(
    provider: Any, cardholder: Any
) -> None:
    """A wrong PIN at unbind: the failure count stands, the caller still sees the refusal."""
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    with provider.unit_of_work() as uow:
        issued = provider.ecards.issue(uow, channel, parse_issue(issue_body(provider)))
    ran: list[bool] = []
    with pytest.raises(FactorRefused), provider.unit_of_work() as uow:
        uow.after_commit(lambda: ran.append(True))
        provider.ecards.unbind(uow, channel, issued.sign_no, UnbindRequest("pin", pin="111111"))
    with provider.db.read() as s:
        person = s.get(Person, cardholder["person_id"])
        assert person is not None and person.pin_failures == 1
    assert ran == [], "the request failed: its after-commit actions are not run"


def test_audit_events_carry_the_units_request_id(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "alipay").client_id)
    with provider.unit_of_work(request_id="req-42") as uow:
        provider.ecards.issue(uow, channel, parse_issue(issue_body(provider, "alipay")))
    with provider.db.read() as s:
        ids = s.scalars(select(AuditEvent.request_id).where(AuditEvent.event == "ecard.issued"))
        assert list(ids) == ["req-42"]
