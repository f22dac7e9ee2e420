"""One transaction per request: commit on success, roll back on an error, commit a
``KeepsWrites`` error's writes (``idp.store.database.Database.transaction``)."""

from __future__ import annotations

from typing import Any

import pytest

from idp.ecards.service import FactorRefused
from idp.errors import InvalidGrant
from idp.errors import KeepsWrites
from idp.oauth.grants import GrantRevoked
from idp.store.security import ExpiringKey


class Refused(InvalidGrant):
    pass


def remembered(provider: Any, key: str) -> bool:
    with provider.db.read() as session:
        return session.get(ExpiringKey, key) is not None


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (GrantRevoked("the code was already used"), True),
        (FactorRefused(403, "factor-failed", "The PIN is not correct"), True),
        (Refused("the code is invalid or expired"), False),
        (ValueError("a programming error"), False),
    ],
    ids=["grant-revoked", "factor-refused", "oauth-error", "other"],
)
def test_only_a_keeps_writes_error_commits(provider: Any, error: Exception, kept: bool) -> None:
    assert isinstance(error, KeepsWrites) is kept
    with pytest.raises(type(error)), provider.db.transaction() as session:
        session.add(ExpiringKey(key="written-before-the-error", expires_at=1))
        session.flush()
        raise error
    assert remembered(provider, "written-before-the-error") is kept
