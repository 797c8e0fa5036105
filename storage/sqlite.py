"""SQLite backend: one connection per store, used by one thread at a time; WAL, write transactions
via BEGIN IMMEDIATE, and a group commit for `decide_and_write` (the reservations).

Short work (a group commit, a single statement, a serialized or `short` transaction, a quick read)
runs right on the event loop's thread when the connection's own thread is idle and no other process
holds the write lock: no hop to the thread and back, no GIL handover on the way. Where the lock is
taken, it goes to the thread and waits there; so do reads that may scan. WAL checkpoints run beside
the store, from a connection and a thread of their own, never inside a COMMIT."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from storage.db import Decide, Dialect, Row

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000  # on the connection's thread; on the event loop's, never wait (see above)
SQLITE_BUSY, SQLITE_LOCKED = 5, 6
MAX_GROUP = 64  # callers sharing one group-commit transaction, at most
CHECKPOINT_EVERY_S = 1.0
T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]


class _Failed:
    """What one call of a group raised (nothing of its work is kept; the others' is)."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def _run_group(conn: sqlite3.Connection, works: list[Work]) -> list[Any]:
    """One BEGIN IMMEDIATE ... COMMIT around `works`; returns each one's result or `_Failed`. Raises,
    having rolled back, if the transaction fails (so it can run again).

    A work whose decision refuses returns `_Failed` having written nothing. One whose writes fail
    halfway raises: the transaction is rolled back and run again without it (its decision is made
    again on the new snapshot by every other). No savepoint per work: each one journals every page
    it touches, and the group's commit is what an ack waits on."""
    failed: dict[int, _Failed] = {}
    while True:
        outcomes: list[Any] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for index, work in enumerate(works):
                if index in failed:
                    outcomes.append(failed[index])
                    continue
                try:
                    outcomes.append(work(conn))
                except Exception as exc:  # rare: a write failed halfway
                    failed[index] = _Failed(exc)
                    break
            else:
                conn.execute("COMMIT")
                return outcomes
            conn.execute("ROLLBACK")
        except BaseException:
            _rollback(conn)
            raise


def _decided(query: str, args: Sequence[Any], decide: Decide[T]) -> Callable[[sqlite3.Connection], Any]:
    """`decide_and_write` as one piece of work for a group commit: the decision's result, or `_Failed`
    when the decision raised (before anything was written)."""

    def work(conn: sqlite3.Connection) -> Any:
        row = conn.execute(query, args).fetchone()
        try:
            result, writes = decide({} if row is None else dict(row))
        except Exception as exc:
            return _Failed(exc)
        for sql, values in writes:
            conn.execute(sql, values)
        return result

    return work


def _patiently(work: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    """`work` on the connection's thread, waiting up to BUSY_TIMEOUT_MS for another's write lock."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        return work(conn)
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


def _locked(exc: sqlite3.OperationalError) -> bool:
    """The write lock (or a table) is held by another connection."""
    return getattr(exc, "sqlite_errorcode", None) in (SQLITE_BUSY, SQLITE_LOCKED)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _rows(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[Row]:
    return [dict(row) for row in conn.execute(sql, args).fetchall()]


def _changed(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> int:
    return max(conn.execute(sql, args).rowcount, 0)


class SqliteTx:
    """A transaction on the store's single connection."""

    def __init__(self, db: SqliteDatabase, quick: bool) -> None:
        self._db = db
        self._run = db.run_quick if quick else db.run

    # Each call is one piece of work (execute and fetch together). A serialized or short transaction's
    # (the ledger's writes: a job's step, a settlement; generation times) run on the event loop's
    # thread while the connection's thread is idle: a trip to that thread and back cost more CPU than
    # the statement (a futex and a self-pipe wake-up each way, thousands a minute with jobs in
    # flight). Reads that may scan (usage, exports, audits) stay on the connection's thread.

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        return await self._run(lambda conn: _changed(conn, sql, args))

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        """Run a query; returns every row as a dict."""
        return await self._run(lambda conn: _rows(conn, sql, args))

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        """Run a query; returns its first row or None."""
        rows = await self.fetchall(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """Run a query; returns the first column of its first row, or None."""
        row = await self.fetchone(sql, *args)
        return next(iter(row.values())) if row else None


class SqliteDatabase:
    """One file, one connection on one thread; an asyncio.Lock keeps transactions of tasks apart."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor, path: str) -> None:
        self._conn = conn
        self._thread = thread
        self._path = path
        self._checkpoints: asyncio.Task[None] | None = None
        # The last work handed to the thread: once it is done (FIFO), the thread is idle.
        self._last: Future[Any] | None = None
        self._lock = asyncio.Lock()
        self._group: list[tuple[Work, asyncio.Future[Any]]] = []
        self._grouper: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        """Open (creating if needed) the database file at `path`."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

        def connect() -> sqlite3.Connection:
            # isolation_level=None: we issue BEGIN ourselves, so the write lock is taken up front.
            # check_same_thread=False: a group commit may run on the event loop's thread, never while
            # the connection's thread has work (see `run_quick`).
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA busy_timeout = 0")  # waits happen on the thread only
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                # Statement journals stay in memory: on disk (with a savepoint per grouped
                # reservation) every page a group commit touched was written to a temp file too.
                conn.execute("PRAGMA temp_store = MEMORY")
                # No checkpoint inside a COMMIT (copying the WAL into the file and syncing it, on the
                # event loop's thread for a group commit): `_checkpoint_often` does it beside.
                conn.execute("PRAGMA wal_autocheckpoint = 0")
            except BaseException:
                conn.close()
                raise
            return conn

        try:
            conn = await asyncio.get_running_loop().run_in_executor(thread, connect)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        db = cls(conn, thread, path)
        db._checkpoints = asyncio.create_task(db._checkpoint_often(), name="sqlite-checkpoints")
        return db

    async def _checkpoint_often(self) -> None:
        """Every CHECKPOINT_EVERY_S, copy the WAL's committed pages into the database file (a PASSIVE
        checkpoint: it never waits for or blocks a writer or a reader) from a connection of its own on
        a thread of its own, so neither the event loop nor the store's connection ever waits for it."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        loop = asyncio.get_running_loop()
        conn: sqlite3.Connection | None = None
        try:
            conn = await loop.run_in_executor(
                thread, partial(sqlite3.connect, self._path, isolation_level=None, check_same_thread=False)
            )
            while True:
                await asyncio.sleep(CHECKPOINT_EVERY_S)
                try:
                    await loop.run_in_executor(thread, conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # e.g. the disk: the next round tries again
                    log.warning(
                        "WAL checkpoint failed", extra={"event": "sqlite.checkpoint", "error": repr(exc)}
                    )
        finally:
            if conn is not None:  # closed before the store's own connection (the last one cleans up)
                await loop.run_in_executor(thread, conn.close)
            thread.shutdown(wait=False)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the connection's thread (FIFO: a later call never overtakes an earlier one)."""
        self._last = self._thread.submit(_patiently, work, self._conn)
        return await asyncio.wrap_future(self._last)

    async def run_quick(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Short work that may start a write transaction: here on the event loop's thread when the
        connection's thread is idle (nothing can overtake) and no other process holds the write lock;
        else on the thread, waiting for the lock. `work` must leave nothing behind when it fails."""
        if self._idle():
            try:
                return work(self._conn)
            except sqlite3.OperationalError as exc:
                if not _locked(exc):
                    raise
        return await self.run(work)

    @asynccontextmanager
    async def transaction(self, serialize: bool = False, *, short: bool = False) -> AsyncIterator[SqliteTx]:
        """Open a transaction; serialized ones take the file's write lock at BEGIN. Serialized and
        short ones run on the event loop's thread while the connection's thread is idle."""
        quick = serialize or short
        run = self.run_quick if quick else self.run
        async with self._lock:
            try:
                # A deferred transaction that reads and then writes can fail with SQLITE_BUSY
                # without waiting; BEGIN IMMEDIATE waits (busy_timeout, on the connection's thread)
                # for the lock instead.
                await run(lambda conn: conn.execute("BEGIN IMMEDIATE" if serialize else "BEGIN"))
                yield SqliteTx(self, quick=quick)
            except BaseException:
                # Submitted work runs even when its awaiter is cancelled, in order: this rollback
                # follows whatever statement was in flight, before the next transaction's BEGIN.
                await run(_rollback)
                raise
            await run(lambda conn: conn.execute("COMMIT"))

    async def decide_and_write(self, query: str, args: Sequence[Any], decide: Decide[T]) -> T:
        """See `storage.db.Database`. Group commit: calls that arrive while a transaction runs wait
        for the next one and share it; under a flood of reservations that is one trip to the thread
        and one COMMIT per group instead of one each."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._group.append((_decided(query, args, decide), future))
        if self._grouper is None:
            self._grouper = asyncio.create_task(self._commit_groups(), name="sqlite-group-commit")
        result: T = await future
        return result

    async def _commit_groups(self) -> None:
        group: list[tuple[Work, asyncio.Future[Any]]] = []
        try:
            while self._group:
                group, self._group = self._group[:MAX_GROUP], self._group[MAX_GROUP:]
                works = [work for work, _ in group]
                try:
                    async with self._lock:
                        outcomes = await self.run_quick(partial(_run_group, works=works))
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

    async def read_together(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """See `storage.db.Database`: one read transaction, on the event loop's thread when the
        connection is idle (a WAL reader never waits for a writer)."""

        def read(conn: sqlite3.Connection) -> list[list[Row]]:
            conn.execute("BEGIN")
            try:
                return [_rows(conn, sql, args) for sql, args in queries]
            finally:
                conn.execute("COMMIT")

        async with self._lock:
            return await self.run_quick(read)

    async def fetch_statement(self, sql: str, *args: Any) -> list[Row]:
        """Run ONE statement as its own transaction (a job's read or step: short), on the event loop's
        thread when the connection's is idle, as a serialized transaction's.

        When no transaction is open (nobody holds the lock, the connection is idle and outside one),
        the statement runs at once without taking the lock: it cannot land inside anyone's
        transaction, and it does not queue behind the lock's waiters. Queued there, every statement
        waited one turn of a busy event loop per waiter ahead of it (a job's step took 1.75 s at the
        median in bench/inflight.py's wave of deliveries, against ~1 ms of work)."""

        def work(conn: sqlite3.Connection) -> list[Row]:
            return _rows(conn, sql, args)

        if self._idle() and not self._lock.locked() and not self._conn.in_transaction:
            # Handed to the thread only if another process holds the write lock: before any later
            # transaction of ours (FIFO), so still outside every one.
            return await self.run_quick(work)
        async with self._lock:
            return await self.run_quick(work)

    def _idle(self) -> bool:
        """The connection's thread has no work (FIFO: once the last work handed to it is done)."""
        return self._last is None or self._last.done()

    async def close(self) -> None:
        """Close the connection, once the group commit in progress (if any) is done; again, nothing."""
        if self._closed:
            return
        self._closed = True
        if self._grouper is not None:
            await asyncio.wait([self._grouper])
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.wait([self._checkpoints])
        await asyncio.wrap_future(self._thread.submit(self._conn.close))
        self._thread.shutdown(wait=False)
