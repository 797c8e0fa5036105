"""`pip install videobot` without extras: the wheel carries no PyAV dependency, the product starts and
reaches its settings check with PyAV (and the stand-ins) impossible to import, and `videobot demo`
says how to get PyAV."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_NOT_SHIPPED = (".git", ".venv", "build", "*.egg-info", "__pycache__", "*_cache", ".hypothesis", "*.db*")

# Runs the console script's code with `av` and `bot.sim` made impossible to import, and records which
# of our modules were loaded (to prove the start-up really went through the product).
HOOK = """
import atexit, json, runpy, sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "av" or name == "bot.sim" or name.startswith("bot.sim."):
            raise ImportError(f"No module named {name!r} (not installed)")
        return None

sys.meta_path.insert(0, Absent())
site, report = sys.argv[1], sys.argv[2]
import bot
assert bot.__file__.startswith(site), bot.__file__

def record():
    ours = sorted(m for m in sys.modules if m.split(".")[0] in ("bot", "handlers", "storage", "av"))
    with open(report, "w") as out:
        json.dump(ours, out)

atexit.register(record)
sys.argv = ["videobot", *sys.argv[3:]]
if sys.argv[1].endswith(".py"):
    runpy.run_path(sys.argv[1], run_name="__main__")
else:
    runpy.run_module("bot.cli", run_name="__main__")
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this tree, unpacked as pip would install it (pure Python: files only)."""
    where = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so no leftover build/ folder of the working tree can slip into the wheel.
    source = where / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SHIPPED))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(where), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = where.glob("videobot-*.whl")
    site = where / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def _videobot(site: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))}
    env["PYTHONPATH"] = str(site)  # before the editable install of this tree
    loaded = tmp_path / "loaded.json"
    done = subprocess.run(
        [sys.executable, "-c", HOOK, str(site), str(loaded), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, json.loads(loaded.read_text())


def _videobot_script(site: Path, tmp_path: Path, script: Path):
    """Run `script` (instead of the console script) under the same import hook."""
    return _videobot(site, tmp_path, str(script))


def test_wheel_requires_pyav_only_for_the_demo(installed: Path):
    [metadata] = installed.glob("videobot-*.dist-info/METADATA")
    requires = [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist: av")]
    assert requires and all('extra == "demo"' in r or 'extra == "dev"' in r for r in requires)
    assert (installed / "storage" / "migrations" / "0001_initial.sql").is_file()


def test_run_reaches_the_settings_check_without_pyav(installed: Path, tmp_path: Path):
    done, loaded = _videobot(installed, tmp_path, "run")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"configuration error: {name} is required by 'videobot run' but not set"
        for name in ("SLACK_BOT_TOKEN", "AIGATEWAY_API_KEY", "SLACK_SIGNING_SECRET")
    ]
    assert [m for m in loaded if m == "av" or m.startswith(("av.", "bot.sim"))] == []


def test_every_product_module_imports_without_pyav(installed: Path, tmp_path: Path):
    # `run` stops at the settings check before the service loads, so import the rest of the product
    # (service, app, every handler, the job flow) the same way, with PyAV and the stand-ins absent.
    walk = "import pkgutil, importlib\n" + "".join(
        f"for m in pkgutil.walk_packages(importlib.import_module({pkg!r}).__path__, {pkg + '.'!r}):\n"
        "    importlib.import_module(m.name) if not m.name.startswith('bot.sim') else None\n"
        for pkg in ("bot", "handlers", "storage")
    )
    script = tmp_path / "walk.py"
    script.write_text(walk)
    done, loaded = _videobot_script(installed, tmp_path, script)
    assert done.returncode == 0, done.stderr
    assert {"bot.service", "bot.app", "handlers.video", "handlers.admin", "bot.jobs.flow"} <= set(loaded)
    assert [m for m in loaded if m == "av" or m.startswith(("av.", "bot.sim"))] == []


def test_demo_says_how_to_get_pyav(installed: Path, tmp_path: Path):
    done, _ = _videobot(installed, tmp_path, "demo")
    assert done.returncode == 2
    assert "needs PyAV" in done.stderr and "pip install 'videobot[demo]'" in done.stderr
    assert "Traceback" not in done.stderr
