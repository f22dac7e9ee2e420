"""Sets of keys that forget each entry at its expiry: the ``jti`` replay cache (RFC 7523 3) and
the revoked-token deny-list (RFC 7009). Redis when configured, else the database."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.store.database import Database
from idp.store.security import ExpiringKey


class ExpiringSet(Protocol):
    def add_once(self, key: str, expires_at: int) -> bool:
        """Remember ``key``; False if it was already there (a replay)."""
        ...

    def contains(self, key: str) -> bool: ...


class SqlExpiringSet:
    def __init__(self, db: Database, prefix: str, clock: Callable[[], float] = time.time):
        self._db = db
        self._prefix = prefix
        self._clock = clock

    def add_once(self, key: str, expires_at: int) -> bool:
        now = int(self._clock())
        full = f"{self._prefix}:{key}"
        try:
            with self._db.transaction() as s:
                s.execute(
                    delete(ExpiringKey).where(
                        ExpiringKey.key == full, ExpiringKey.expires_at <= now
                    )
                )
                s.add(ExpiringKey(key=full, expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    def contains(self, key: str) -> bool:
        with self._db.read() as s:
            found = s.scalar(
                select(ExpiringKey.expires_at).where(ExpiringKey.key == f"{self._prefix}:{key}")
            )
        return found is not None and found > int(self._clock())

    def purge(self) -> int:
        with self._db.transaction() as s:
            result = s.execute(
                delete(ExpiringKey).where(ExpiringKey.expires_at <= int(self._clock()))
            )
            return int(getattr(result, "rowcount", 0) or 0)


def redis_client(url: str, *, cluster: bool = False, **options: Any) -> Any:
    """One Redis, or a Redis Cluster whose nodes are discovered from the node ``url`` names
    (redis-py's cluster client). Every command here names one key, so any slot serves it."""
    import redis
    from redis.cluster import RedisCluster

    if cluster:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


class RedisExpiringSet:
    def __init__(
        self,
        url: str,
        prefix: str,
        clock: Callable[[], float] = time.time,
        *,
        cluster: bool = False,
    ):
        self._redis = redis_client(url, cluster=cluster)
        self._prefix = f"essc:{prefix}:"
        self._clock = clock

    def add_once(self, key: str, expires_at: int) -> bool:
        ttl = max(1, expires_at - int(self._clock()))
        return bool(self._redis.set(self._prefix + key, b"1", nx=True, ex=ttl))

    def contains(self, key: str) -> bool:
        return bool(self._redis.exists(self._prefix + key))


class Nonces:
    """``channels.signing.NonceStore`` (a time to live) over an expiring set (an expiry time)."""

    def __init__(self, entries: ExpiringSet, clock: Callable[[], float]) -> None:
        self._entries = entries
        self._clock = clock

    def add_once(self, key: str, ttl_seconds: int) -> bool:
        return self._entries.add_once(key, int(self._clock()) + ttl_seconds)


def expiring_set(
    db: Database,
    redis_url: str,
    prefix: str,
    clock: Callable[[], float] = time.time,
    *,
    cluster: bool = False,
) -> ExpiringSet:
    if redis_url:
        return RedisExpiringSet(redis_url, prefix, clock, cluster=cluster)
    return SqlExpiringSet(db, prefix, clock)
