"""Every Slack listener acks last: nothing is awaited after `ack()`, because with
process_before_response=True Bolt answers Slack's HTTP request only when the listener returns."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"


def _listeners(tree: ast.Module) -> list[ast.AsyncFunctionDef]:
    """Functions decorated with `@app.command/action/view/event/...`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef) and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and ast.unparse(d.func.value) == "app"
            for d in node.decorator_list
        ):
            found.append(node)
    return found


def _is_ack(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Await)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == "ack"
    )


def _awaits_after_ack(fn: ast.AsyncFunctionDef) -> list[str]:
    """Awaits that follow an `await ack(...)` statement in the same block (in any block of `fn`)."""
    late: list[str] = []
    blocks = [n.body for n in ast.walk(fn) if isinstance(getattr(n, "body", None), list)]
    blocks += [n.orelse for n in ast.walk(fn) if isinstance(getattr(n, "orelse", None), list)]
    for block in blocks:
        acked = False
        for stmt in block:
            if acked:
                late += [ast.unparse(n) for n in ast.walk(stmt) if isinstance(n, ast.Await)]
            if isinstance(stmt, ast.Expr) and _is_ack(stmt.value):
                acked = True
    return late


def test_every_listener_returns_right_after_its_ack():
    listeners = {}
    for path in sorted(HANDLERS.glob("*.py")):
        for fn in _listeners(ast.parse(path.read_text(encoding="utf-8"))):
            listeners[f"{path.name}:{fn.name}"] = fn
    # The surfaces that ack: /video, /video-admin, the form (changes, submission), the three buttons.
    assert len([name for name, fn in listeners.items() if any(_is_ack(n) for n in ast.walk(fn))]) >= 7
    late = {name: _awaits_after_ack(fn) for name, fn in listeners.items()}
    assert {name: awaits for name, awaits in late.items() if awaits} == {}


def test_the_check_finds_work_after_an_ack():
    # The check itself must be able to fail: a listener that reads the store after acking.
    source = (
        "@app.action('x')\n"
        "async def clicked(ack, body):\n"
        "    await ack()\n"
        "    job = await deps.store.get_job('j')\n"
    )
    [fn] = _listeners(ast.parse(source))
    assert _awaits_after_ack(fn) == ["await deps.store.get_job('j')"]
