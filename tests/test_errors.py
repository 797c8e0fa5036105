"""One exception tree in one module: every exception the product defines lives in storage/errors.py,
under VideobotError, and the module's docstring draws every one of them."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from storage import errors

ROOT = Path(__file__).resolve().parents[1]


def _tree() -> list[type[BaseException]]:
    return [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == errors.__name__
    ]


def test_every_exception_is_under_the_root_and_drawn():
    classes = _tree()
    assert len(classes) > 25
    assert all(issubclass(cls, errors.VideobotError) for cls in classes)
    drawing = errors.__doc__ or ""
    assert [cls.__name__ for cls in classes if cls.__name__ not in drawing] == []


def test_no_other_product_module_defines_an_exception():
    names = {cls.__name__ for cls in _tree()} | {"Exception", "ValueError", "BaseException"}
    offenders = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "storage" / "errors.py" or (ROOT / "bot" / "sim") in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and any(ast.unparse(b) in names for b in node.bases):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert offenders == []
