"""The workspace content policy end to end: admins block terms; /video, the form and the buttons all
refuse prompts containing them before any money moves, without echoing the term."""

from __future__ import annotations

from bot.ui.blocks.thread import ACTION_REGENERATE
from bot.ui.words import video as video_words
from storage.models import JobState
from tests.e2e.harness import ADMIN, ALICE, CHANNEL, ack_text
from tests.e2e.test_interactive import _button_click, _form_state, _open_form


async def admin(app, words: str) -> str:
    return ack_text(await app.command(words, command="/video-admin", user=ADMIN))


async def test_blocked_terms_are_refused_everywhere_before_any_money_moves(make_app, slack, sim):
    app = await make_app()
    await app.command("a calm sea at dawn --duration 4")
    await app.wait_idle()
    [delivered] = await app.jobs()
    assert "is blocked" in await admin(app, "block add Nuclear Explosion")
    assert "is blocked" in await admin(app, "block add calm sea")
    assert "nuclear explosion" in await admin(app, "block list")
    before = await app.store.budget_status(ALICE)

    # The command: a neutral refusal that does not repeat the term.
    answer = ack_text(await app.command("a NUCLÉAR   explosion over the sea"))
    assert answer == video_words.POLICY_REFUSAL and "nuclear" not in answer.lower()
    # The form: the same refusal, under the prompt.
    view = await _open_form(app, slack)
    submit = {
        "type": "view_submission",
        "team": {"id": "T_STANDIN"},
        "user": {"id": ALICE, "team_id": "T_STANDIN"},
        "api_app_id": "A_VIDEOBOT",
        "view": {**view, "state": _form_state("nuclear, explosion!", "6", "1:1")},
    }
    errors = (await app.interact(submit)).json()["errors"]
    assert "content policy" in errors["prompt"]
    # A button: regenerating a video whose prompt is blocked now.
    url = slack.new_response_url()
    await app.interact(_button_click(delivered, ACTION_REGENERATE, ALICE, url))
    await app.wait_for(lambda: slack.responses(url))
    assert "content policy" in slack.responses(url)[0]["text"]

    assert [j.id for j in await app.jobs()] == [delivered.id]  # no job was stored
    assert await app.store.budget_status(ALICE) == before  # and no money moved
    assert sim.create_count == 1 and len(slack.messages(CHANNEL)) == 1
    usage = await admin(app, "usage")
    [alice_row] = [line for line in usage.split("\n") if line.startswith(ALICE)]
    assert alice_row.split()[-1] == "3"  # three refusals counted

    assert "no longer blocked" in await admin(app, "block remove nuclear explosion")
    assert "on its way" in ack_text(await app.command("a nuclear explosion, from far away"))
    await app.wait_idle()
    assert [j.state for j in await app.jobs()] == [JobState.DELIVERED] * 2
    audit = await admin(app, "audit")
    assert "block remove “nuclear explosion”: blocked → allowed" in audit
    assert "block add “calm sea”: allowed → blocked" in audit
