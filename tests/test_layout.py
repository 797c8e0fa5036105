"""The product apart from its stand-ins: nothing in bot/ (outside bot/sim/), handlers/ or storage/
imports the gateway simulator, the Slack stand-in, MP4 rendering or the demo."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "handlers", "storage")
STAND_INS = ("bot.sim", "av")


def _product_files() -> list[Path]:
    files = [p for folder in PRODUCT for p in (ROOT / folder).rglob("*.py")]
    return [p for p in files if (ROOT / "bot" / "sim") not in p.parents]


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _is_stand_in(module: str) -> bool:
    return any(module == s or module.startswith(s + ".") for s in STAND_INS)


def test_product_imports_no_stand_in_module_except_the_cli_entry_points() -> None:
    offenders = []
    for path in _product_files():
        rel = path.relative_to(ROOT).as_posix()
        for line, module in _imports(path):
            # `videobot demo` and `videobot sim` load the stand-ins lazily, only when asked for.
            if rel == "bot/cli.py" and _is_stand_in(module):
                continue
            if _is_stand_in(module):
                offenders.append(f"{rel}:{line} imports {module}")
    assert offenders == []
    assert len(_product_files()) > 30  # the walk really saw the product


def test_the_walk_notices_a_stand_in_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from bot.sim.gateway import Simulator\nimport av\n")
    assert [m for _, m in _imports(bad) if _is_stand_in(m)] == [
        "bot.sim.gateway",
        "bot.sim.gateway.Simulator",
        "av",
    ]
