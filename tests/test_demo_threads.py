"""`videobot demo --via mention | shortcut`: the offline demo asks the way teams do in threads."""

from __future__ import annotations

import pytest

from bot.sim.demo import run_demo
from bot.sim.mp4 import mp4_info


@pytest.mark.parametrize(
    ("via", "said"),
    [
        ("mention", "<@UBOT> a paper boat on a pond --duration 5"),
        ("shortcut", "prefilled: 'What about a paper boat on a pond?'"),
    ],
)
async def test_demo_delivers_into_the_teams_thread(tmp_path, capsys, via, said):
    assert await run_demo(prompt="a paper boat on a pond", out_dir=str(tmp_path), via=via) == 0
    shown = capsys.readouterr().out
    assert said in shown and "Delivered" in shown
    thread = shown[shown.index("── #") :]
    assert "asked for a video" not in thread  # no parent message of the bot's own: the teammate's is the root
    assert thread.splitlines()[1].startswith("u0demo002: ")
    duration, _, _ = mp4_info(tmp_path / "video.mp4")
    assert round(duration) == 5
