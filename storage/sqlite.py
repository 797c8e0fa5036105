"""SQLite backend: one aiosqlite connection per store, WAL, write transactions via BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import aiosqlite

from storage.db import Dialect, Row

BUSY_TIMEOUT_MS = 10_000
MAX_GROUP = 64  # callers sharing one group-commit transaction, at most
T = TypeVar("T")


class _Failed:
    """What one call of a group raised (its savepoint was rolled back; the others are kept)."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def _run_group(conn: sqlite3.Connection, fns: list[Callable[[sqlite3.Connection], Any]]) -> list[Any]:
    """One BEGIN IMMEDIATE ... COMMIT around `fns`, each in a savepoint (runs on the connection's
    thread); returns each one's result or `_Failed`. Raises, having rolled back, if the COMMIT fails."""
    outcomes: list[Any] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for fn in fns:
            conn.execute("SAVEPOINT grouped")
            try:
                outcomes.append(fn(conn))
            except Exception as exc:
                conn.execute("ROLLBACK TO grouped")
                outcomes.append(_Failed(exc))
            conn.execute("RELEASE grouped")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


class SqliteTx:
    """A transaction on the store's single connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    # Each call is one trip to aiosqlite's thread (execute and fetch together): under load the
    # trips, not SQLite, are what a transaction waits for.

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        cursor = await self._conn.execute(sql, args)
        return max(cursor.rowcount, 0)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        """Run a query; returns every row as a dict."""
        return [dict(row) for row in await self._conn.execute_fetchall(sql, args)]

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        """Run a query; returns its first row or None."""
        rows = list(await self._conn.execute_fetchall(sql, args))
        return dict(rows[0]) if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """Run a query; returns the first column of its first row, or None."""
        rows = list(await self._conn.execute_fetchall(sql, args))
        return rows[0][0] if rows else None


class SqliteDatabase:
    """One file, one connection; an asyncio.Lock keeps transactions of concurrent tasks apart."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._group: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._grouper: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        """Open (creating if needed) the database file at `path`."""
        # isolation_level=None: we issue BEGIN ourselves, so the write lock is taken up front.
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await conn.close()
            raise
        return cls(conn)

    @asynccontextmanager
    async def transaction(self, serialize: bool = False) -> AsyncIterator[SqliteTx]:
        """Open a transaction; serialized ones take the file's write lock at BEGIN."""
        async with self._lock:
            # A deferred transaction that reads and then writes can fail with SQLITE_BUSY
            # without waiting; BEGIN IMMEDIATE waits (busy_timeout) for the lock instead.
            await self._conn.execute("BEGIN IMMEDIATE" if serialize else "BEGIN")
            try:
                yield SqliteTx(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def run_serialized(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` inside a BEGIN IMMEDIATE transaction on the connection's thread; returns its result
        once that transaction is committed. An exception from `fn` undoes what `fn` did and propagates.

        Group commit: calls that arrive while a transaction is running wait for the next one and then
        share it, each `fn` in a savepoint of its own, in arrival order (each sees what the ones before
        it wrote). Under a flood of reservations that is one trip to the thread and one COMMIT for the
        whole group instead of one each; no caller learns its result before the COMMIT.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._group.append((fn, future))
        if self._grouper is None:
            self._grouper = asyncio.create_task(self._commit_groups(), name="sqlite-group-commit")
        result: T = await future
        return result

    async def _commit_groups(self) -> None:
        group: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        try:
            while self._group:
                group, self._group = self._group[:MAX_GROUP], self._group[MAX_GROUP:]
                try:
                    async with self._lock:
                        outcomes = await self._conn._execute(  # type: ignore[no-untyped-call]
                            partial(_run_group, self._conn._conn, [fn for fn, _ in group])
                        )
                except Exception as exc:  # the transaction itself failed: nobody's work was kept
                    outcomes = [_Failed(exc)] * len(group)
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():  # the caller gave up waiting; its work is committed anyway
                        continue
                    if isinstance(outcome, _Failed):
                        future.set_exception(outcome.exc)
                    else:
                        future.set_result(outcome)
        except BaseException:  # cancelled (shutdown): nobody may wait forever
            for _, future in [*group, *self._group]:
                future.cancel()
            self._group = []
            raise
        finally:
            self._grouper = None

    async def fetch_statement(self, sql: str, *args: Any) -> list[Row]:
        """Run ONE statement as its own transaction; one trip to the thread instead of four."""
        async with self._lock:
            return [dict(row) for row in await self._conn.execute_fetchall(sql, args)]

    async def close(self) -> None:
        """Close the connection, once the group commit in progress (if any) is done."""
        if self._grouper is not None:
            await asyncio.wait([self._grouper])
        await self._conn.close()
