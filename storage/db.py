"""A tiny database interface both backends implement: transactions with `?` placeholders.

SQL is written once, with `?` placeholders; the PostgreSQL backend rewrites them to `$1, $2, ...`.
A *serialized* transaction excludes every other serialized transaction on the same database,
also from other processes and replicas: SQLite takes the write lock at `BEGIN IMMEDIATE`,
PostgreSQL takes a transaction-scoped advisory lock first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol, TypeVar

Row = dict[str, Any]
Dialect = Literal["sqlite", "postgresql"]
T = TypeVar("T")
# Statements to run, each with its arguments.
Writes = list[tuple[str, Sequence[Any]]]
# Pure (no I/O): from the row a query read, the caller's result and the writes that go with it; raising
# writes nothing. It may run on a backend's own thread.
Decide = Callable[[Row], tuple[T, Writes]]


class Tx(Protocol):
    """One open transaction."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        """Run a query; returns every row as a dict."""
        ...

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        """Run a query; returns its first row or None."""
        ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """Run a query; returns the first column of its first row, or None."""
        ...


class Database(Protocol):
    """A connection (pool) to one database."""

    dialect: Dialect

    def transaction(self, serialize: bool = False, *, short: bool = False) -> AbstractAsyncContextManager[Tx]:
        """Open a transaction; committed on normal exit, rolled back on any exception. `short`: a few
        indexed statements, which SQLite may run on the event loop's thread (as it does serialized
        transactions); left unset for reads that may scan."""
        ...

    async def fetch_statement(self, sql: str, *args: Any) -> list[Row]:
        """Run ONE statement as its own transaction (autocommit); returns its rows (e.g. RETURNING)."""
        ...

    async def read_together(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """Run read-only `queries` on one consistent snapshot; each one's rows. Quick ones only: on
        SQLite they may run on the event loop's thread (`storage.sqlite`)."""
        ...

    async def decide_and_write(self, query: str, args: Sequence[Any], decide: Decide[T]) -> T:
        """In one serialized transaction: run `query`, give its first row to `decide`, run the writes
        it returns, commit, and return its result. An exception from `decide` writes nothing.

        A backend may commit concurrent calls together (SQLite's group commit) in arrival order, so
        each sees what the ones before it wrote; no caller learns its result before the COMMIT. A call
        whose writes fail undoes only its own work; the others' decisions may then be made again, so
        `decide` must have no effect but its result.
        """
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...


def placeholders(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` items."""
    if count < 1:
        raise ValueError("an IN list needs at least one item")
    return ", ".join("?" * count)
