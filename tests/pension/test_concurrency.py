"""Exactly one certification per cycle under real concurrency on PostgreSQL: N requests of a
lapsed pensioner at the same instant, each with its own fresh face assertion, leave one row
and one audit event, and every answer names that row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idp.app import create_app
from idp.provider import Provider
from idp.store.pension import PensionCertification
from idp.store.security import AuditEvent
from tests.conftest import PG_URL
from tests.conftest import _truncate
from tests.conftest import test_settings as settings_for
from tests.family.helpers import Channel
from tests.family.helpers import person
from tests.family.test_concurrency import at_once
from tests.pension.helpers import certify
from tests.support import FakeClock

pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="needs ESSC_DATABASE_URL=postgresql+psycopg://..."
)

N = 6


@pytest.fixture
def pg_provider(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[Provider]:
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    provider = Provider(settings_for(url, instance_dir=str(tmp_path)), clock=clock)
    yield provider
    provider.db.dispose()


def test_simultaneous_certifications_leave_one(pg_provider: Provider) -> None:
    app: Any = create_app(pg_provider.settings, provider=pg_provider)
    channel = Channel(pg_provider)
    pensioner = person(pg_provider, 1, born="19500301")
    token = channel.token(app, pensioner)
    sign_no = channel.ecard(pensioner)
    assertions = [channel.assertion(sign_no) for _ in range(N)]
    answers = at_once([lambda a=a: certify(app.test_client(), token, a) for a in assertions])
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * (N - 1) + [201], [a.get_data(as_text=True) for a in answers]
    assert len({a.json["id"] for a in answers}) == 1
    with pg_provider.db.transaction() as s:
        count = select(func.count()).select_from(PensionCertification)
        assert s.scalar(count) == 1
        events = select(func.count()).where(AuditEvent.event == "pension.certified")
        assert s.scalar(events) == 1
