"""The rooms of the house, checked by reading the code: storage never reaches up into bot, the shared
dependencies do not point back at the runner, the billing rule is written once and only the job
store writes a job's state."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from bot.deps import Deps

ROOT = Path(__file__).resolve().parents[1]


def _product(*folders: str) -> list[Path]:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    return [p for p in files if (ROOT / "bot" / "sim") not in p.parents]


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _where(pattern: str, folders: tuple[str, ...] = ("bot", "handlers", "storage")) -> list[str]:
    rx = re.compile(pattern)
    return sorted(
        f"{p.relative_to(ROOT)}:{n}"
        for p in _product(*folders)
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if rx.search(line)
    )


def test_storage_imports_nothing_above_it():
    above = {
        f"{p.relative_to(ROOT)}: {m}"
        for p in _product("storage")
        for m in _imported(p)
        if m.split(".")[0] in ("bot", "handlers")
    }
    assert above == set()


def test_deps_do_not_point_back_at_the_runner():
    assert [f.name for f in dataclasses.fields(Deps) if "runner" in f.name] == []
    assert [m for m in _imported(ROOT / "bot" / "deps.py") if m.startswith("bot.jobs")] == []


def test_the_billing_rule_is_written_once():
    # Either form of the rule: the result's length else the request's (issue 17: a length of 0 or
    # less counts as none, written `result_duration > 0`).
    rule = (
        r"result_duration or |or \S*\.?result_duration|COALESCE\(\s*(NULLIF\()?result_duration"
        r"|result_duration > 0"
    )
    # Once in Python and once for SQL aggregates, side by side in the billing module.
    assert [w.split(":")[0] for w in _where(rule)] == ["storage/billing.py"] * 2


def test_only_the_job_store_writes_a_job_state():
    assert [w.split(":")[0] for w in _where(r"SET state\b|(?<!\w)state = \?")] == ["storage/jobs.py"]
