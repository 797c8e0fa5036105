"""Throwaway PostgreSQL databases for tests: create one per session (or per test), drop it after.

The server is expected at 127.0.0.1:5432 with trust auth and a `test` database to connect through;
`VIDEOBOT_TEST_PG_ADMIN_URL` overrides that. An unreachable server raises: tests fail, never skip.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

ADMIN_URLS = (
    [os.environ["VIDEOBOT_TEST_PG_ADMIN_URL"]]
    if os.environ.get("VIDEOBOT_TEST_PG_ADMIN_URL")
    else ["postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test"]
)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin_connection() -> tuple[asyncpg.Connection, str]:
    errors: list[str] = []
    for url in ADMIN_URLS:
        try:
            return await asyncpg.connect(url, timeout=10), url
        except (OSError, asyncpg.PostgresError) as exc:
            errors.append(f"{url}: {exc!r}")
    raise RuntimeError("PostgreSQL for tests is unreachable: " + "; ".join(errors))


async def make_pg_database(prefix: str = "videobot_test") -> str:
    """Create an empty database with a random name; returns its postgresql:// URL."""
    conn, admin_url = await _admin_connection()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(admin_url, name)


async def drop_pg_database(url: str) -> None:
    """Drop a database made by make_pg_database, even with connections still open."""
    name = urlsplit(url).path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise ValueError(f"refusing to drop odd database name {name!r}")
    conn, _ = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def reset_pg_database(url: str) -> None:
    """Empty a test database (drop and recreate the public schema) so the next store migrates afresh."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
