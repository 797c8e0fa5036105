"""SQLite backend: one aiosqlite connection per store, WAL, write transactions via BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiosqlite

from storage.db import Dialect, Row

BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


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
        """Run `fn` inside one BEGIN IMMEDIATE transaction, in a single trip to the connection's thread.

        Uses aiosqlite's own queue (`_execute`), so `fn` runs on the thread that owns the sqlite3
        connection, like every other statement; an exception from `fn` rolls back and propagates.
        """
        aconn = self._conn

        def script() -> T:
            conn = aconn._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        async with self._lock:
            result: T = await aconn._execute(script)  # type: ignore[no-untyped-call]
            return result

    async def fetch_statement(self, sql: str, *args: Any) -> list[Row]:
        """Run ONE statement as its own transaction; one trip to the thread instead of four."""
        async with self._lock:
            return [dict(row) for row in await self._conn.execute_fetchall(sql, args)]

    async def close(self) -> None:
        """Close the connection."""
        await self._conn.close()
