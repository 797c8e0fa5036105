"""Everything the app keeps: jobs, reservations, charges, budgets. See `storage.api` for the contract."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from storage.api import LedgerConfig, NewJob, PeriodKind, Store
from storage.db import Database
from storage.errors import RefusalReason, Refused
from storage.migrate import migrate
from storage.models import (
    UNFINISHED_STATES,
    BudgetStatus,
    Job,
    JobState,
    MoneyState,
    UserUsage,
    WorkspaceStatus,
)
from storage.store import SqlStore

__all__ = [
    "UNFINISHED_STATES",
    "BudgetStatus",
    "Job",
    "JobState",
    "LedgerConfig",
    "MoneyState",
    "NewJob",
    "PeriodKind",
    "RefusalReason",
    "Refused",
    "SqlStore",
    "Store",
    "UserUsage",
    "WorkspaceStatus",
    "open_database",
    "open_store",
    "sqlite_path",
]


def sqlite_path(url: str) -> str:
    """The file of a `sqlite:///relative.db` or `sqlite:////absolute.db` URL."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite URL (want sqlite:///path.db): {url}")
    path = unquote(urlsplit(url).path)[1:]  # "sqlite:///x.db" -> "/x.db" -> "x.db"
    if not path or path == ":memory:":
        raise ValueError(f"give a database file in {url!r}; in-memory SQLite cannot be shared")
    return path


async def open_database(url: str) -> Database:
    """Connect to the database a URL names (sqlite:///..., postgresql://..., postgres://...)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase.open(sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        from storage.postgres import PostgresDatabase

        return await PostgresDatabase.open(url)
    raise ValueError(f"unsupported database URL (use sqlite:/// or postgresql://): {url.split('@')[-1]}")


async def open_store(url: str, config: LedgerConfig) -> Store:
    """Open the database at `url`, bring its schema up to date and return the Store."""
    db = await open_database(url)
    try:
        await migrate(db, config.clock())
    except BaseException:
        await db.close()
        raise
    return SqlStore(db, config)
