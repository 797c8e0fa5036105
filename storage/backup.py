"""A consistent copy of a SQLite database, safe while the app is writing to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.errors import BackupError


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy `source` to a new file `target` with SQLite's online backup API; returns its size in bytes.

    The backup API (https://www.sqlite.org/backup.html) copies a snapshot page by page, so the copy
    is consistent even while `videobot run` writes (WAL included); a plain `cp` of a live database
    may not be. An existing `target` is never overwritten.
    """
    if not source.is_file():
        raise BackupError(f"no database at {source.resolve()}")
    if target.exists():
        raise BackupError(f"{target} already exists; give a new file name")
    if not target.resolve().parent.is_dir():
        raise BackupError(f"the folder {target.resolve().parent} does not exist")
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            check = dst.execute("PRAGMA integrity_check").fetchone()
        finally:
            dst.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise BackupError(f"cannot copy {source}: {exc}") from None
    finally:
        src.close()
    if not check or check[0] != "ok":
        target.unlink(missing_ok=True)
        raise BackupError(f"the copy of {source} failed its integrity check: {check}")
    return target.stat().st_size
