"""PostgreSQL backend: an asyncpg pool; serialized transactions hold an advisory lock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from storage.db import Decide, Dialect, Row

T = TypeVar("T")

# Any constant will do, as long as every replica uses the same one: it names "the ledger".
LEDGER_LOCK_KEY = 7_146_120_221
_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=512)
def to_dollar_params(sql: str) -> str:
    """Rewrite `?` placeholders as `$1, $2, ...` (our SQL never has `?` inside literals)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag, e.g. "UPDATE 3" or "INSERT 0 1".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTx:
    """A transaction on one pooled connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        status: str = await self._conn.execute(to_dollar_params(sql), *args)
        return _rowcount(status)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        """Run a query; returns every row as a dict."""
        rows = await self._conn.fetch(to_dollar_params(sql), *args)
        return [dict(row) for row in rows]

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        """Run a query; returns its first row or None."""
        row = await self._conn.fetchrow(to_dollar_params(sql), *args)
        return None if row is None else dict(row)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """Run a query; returns the first column of its first row, or None."""
        return await self._conn.fetchval(to_dollar_params(sql), *args)


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database, shareable by many replicas."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        """Connect a pool to `url` (postgresql:// or postgres://)."""
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
        return cls(pool)

    @asynccontextmanager
    async def transaction(self, serialize: bool = False, *, short: bool = False) -> AsyncIterator[PostgresTx]:
        """Open a transaction; serialized ones first wait for the ledger's advisory lock (`short` is
        SQLite's concern: every transaction here is a pool connection's)."""
        async with self._pool.acquire() as conn, conn.transaction():
            if serialize:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", LEDGER_LOCK_KEY)
            yield PostgresTx(conn)

    async def decide_and_write(self, query: str, args: Sequence[Any], decide: Decide[T]) -> T:
        """See `storage.db.Database`; one serialized transaction per call (no group commit)."""
        async with self.transaction(serialize=True) as tx:
            result, writes = decide(await tx.fetchone(query, *args) or {})
            for sql, values in writes:
                await tx.execute(sql, *values)
        return result

    async def read_together(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """See `storage.db.Database`: one REPEATABLE READ transaction."""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            return [
                [dict(r) for r in await conn.fetch(to_dollar_params(sql), *args)] for sql, args in queries
            ]

    async def fetch_statement(self, sql: str, *args: Any) -> list[Row]:
        """Run ONE statement as its own transaction (autocommit); returns its rows."""
        rows = await self._pool.fetch(to_dollar_params(sql), *args)
        return [dict(row) for row in rows]

    async def close(self) -> None:
        """Close the pool."""
        await self._pool.close()
