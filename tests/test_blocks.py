"""Block Kit builders: within Slack's limits, entities kept whole, serialisable."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.ui.blocks import base, thread
from bot.ui.words import format as fmt
from storage.models import JobState
from tests.test_messages import make_job, make_status

ENTITY_BROKEN = re.compile(r"&(?!amp;|lt;|gt;)")


def texts(block_list):
    for block in block_list:
        if "text" in block:
            yield block["text"]["text"]
        for element in block.get("elements", []):
            if "text" in element:
                yield element["text"]


def test_parent_blocks():
    out = thread.parent_blocks(make_job(prompt="a <!channel> & lake"))
    json.dumps(out)
    assert [b["type"] for b in out] == ["section", "context"]
    assert out[0]["text"]["type"] == "mrkdwn"
    assert out[0]["text"]["text"] == "<@U0123ABCD> asked for a video:\n> a &lt;!channel&gt; &amp; lake"
    assert out[1]["elements"][0]["text"] == "5 s · 16:9 · estimated $0.055"


def test_long_prompt_of_ampersands_fits_and_keeps_entities_whole():
    out = thread.parent_blocks(make_job(prompt="&" * 2000))
    text = out[0]["text"]["text"]
    assert len(text) <= base.MAX_SECTION_CHARS
    assert text.endswith("&amp;…")
    assert not ENTITY_BROKEN.search(text)


@given(st.text(alphabet="ab&<> \n", max_size=4000), st.integers(1, 3000))
def test_truncation_keeps_entities_whole(raw, limit):
    escaped = fmt.escape(raw)
    cut = base.truncate_mrkdwn(escaped, limit)
    assert len(cut) <= limit
    assert not ENTITY_BROKEN.search(cut)
    if len(escaped) <= limit:
        assert cut == escaped
    else:
        assert cut.endswith("…") and escaped.startswith(cut[:-1])


def test_truncation_keeps_mentions_whole():
    assert base.truncate_mrkdwn("hi <@U0123ABCD> there", 10) == "hi …"


def test_status_and_failure_blocks():
    status = thread.status_blocks(make_job(state=JobState.GENERATING), now=make_job().created_at + 125)
    assert "2:05 elapsed" in status[0]["elements"][0]["text"]
    failure = thread.failure_blocks(make_job(state=JobState.FAILED, failure_reason="x" * 5000), make_status())
    assert failure[0]["type"] == "section"
    assert len(failure[0]["text"]["text"]) <= base.MAX_SECTION_CHARS


def test_actions_block_can_be_appended():
    out = thread.parent_blocks(make_job())
    button = ButtonElement(text="Regenerate", action_id="regenerate", value="job1")
    composed = base.finish([*out, ActionsBlock(elements=[button])])
    assert composed[-1]["type"] == "actions" and composed[:-1] == out
    json.dumps(composed)


def test_text_blocks_split_long_answers_within_limits():
    text = "\n".join(f"• line {i} " + "&" * 40 for i in range(400))
    out = base.text_blocks(text)
    assert 1 < len(out) <= base.MAX_BLOCKS
    for chunk in texts(out):
        assert 0 < len(chunk) <= base.MAX_SECTION_CHARS
    assert "\n".join(texts(out)) == text[: len("\n".join(texts(out)))]


def test_finish_caps_block_count():
    many = [base.section(str(i)) for i in range(80)]
    assert len(base.finish(many)) == base.MAX_BLOCKS
