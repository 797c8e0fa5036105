"""Reading a mention and a message: the bot's mention removed, Slack markup turned into plain words,
who counts as a person asking, and one job id per event."""

from __future__ import annotations

from bot.commands import parse_video, strip_mention
from bot.settings import Settings
from bot.slack.markup import plain_words, unnamed
from bot.ui.words import thread as thread_words
from handlers.mention import event_job_id, from_a_person
from storage.models import JobState
from tests.test_messages import make_job

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def test_only_the_bots_own_mention_is_removed():
    text = "<@UBOT> a race between <@U0BOB0001> and <@UBOT|videobot> --ar 9:16"
    assert strip_mention(text, "UBOT").split() == [
        "a",
        "race",
        "between",
        "<@U0BOB0001>",
        "and",
        "--ar",
        "9:16",
    ]
    # Without the bot's id (no auth.test answer yet), only the leading mention is taken as the bot's.
    assert strip_mention("  <@UBOT> a cat <@U2>", None).split() == ["a", "cat", "<@U2>"]
    assert strip_mention("a cat <@UBOT>", "UBOTX") == "a cat <@UBOT>"


def test_a_mention_runs_the_video_grammar():
    parsed = parse_video(
        strip_mention("<@UBOT> a slow drone shot over the lake —ar 9:16 -d 6", "UBOT"), SETTINGS
    )
    assert (parsed.prompt, parsed.aspect_ratio, parsed.duration) == (
        "a slow drone shot over the lake",
        "9:16",
        6,
    )
    assert parse_video(strip_mention("<@UBOT>  Budget ", "UBOT"), SETTINGS).name == "budget"


def test_plain_words_from_a_message():
    names = {"U0ALICE01": "alice", "C0LAKES01": "lakes"}
    text = (
        "&gt; *Bold* _idea_ ~old~ `code`: <@U0ALICE01> in <#C0LAKES01|> and <#C0SEA0001|sea>, "
        "<https://x.example/a|the brief>, <https://x.example/b>, <mailto:a@b.example|mail> "
        "&lt;3 &amp; <!here>\nnext line"
    )
    assert plain_words(text, names) == (
        "Bold idea old code: @alice in #lakes and #sea, the brief, https://x.example/b, "
        "mail <3 & @here next line"
    )
    assert plain_words("snake_case_name and 2*3*4", {}) == "snake_case_name and 2*3*4"
    assert plain_words("<@U0NOBODY1> waves", {}) == "@U0NOBODY1 waves"  # a name not found stays the id


def test_unnamed_lists_users_and_channels_without_a_name_once():
    text = "<@U1AAA> <@U1AAA|x> <@W2BBB> <#C3CCC|> <#C4DDD|named> <#C3CCC>"
    assert unnamed(text) == (["U1AAA", "W2BBB"], ["C3CCC"])


def test_who_counts_as_a_person_asking():
    person = {"type": "app_mention", "user": "U1", "text": "<@UBOT> a cat", "ts": "1.0"}
    assert from_a_person(person)
    assert from_a_person(person | {"subtype": "thread_broadcast"})
    assert not from_a_person(person | {"bot_id": "B1"})
    assert not from_a_person(person | {"edited": {"user": "U1", "ts": "2.0"}})
    assert not from_a_person(person | {"subtype": "message_changed"})
    assert not from_a_person({k: v for k, v in person.items() if k != "user"})


def test_one_job_id_per_event():
    body = {"team_id": "T1", "event_id": "Ev1"}
    assert event_job_id(body) == event_job_id(dict(body)) != event_job_id(body | {"event_id": "Ev2"})
    assert event_job_id(body) != event_job_id(body | {"team_id": "T2"})
    assert len(event_job_id(body)) == 32
    assert event_job_id({"team_id": "T1"}) is None


def test_a_thread_jobs_status_says_who_asked_for_what():
    job = make_job(
        user_id="U0ALICE01",
        prompt="a <b> & <!channel> " + "long " * 30,
        aspect_ratio="9:16",
        state=JobState.GENERATING,
        created_at=0.0,
        thread_ts="1.0",
    )
    header, line = thread_words.status_text(job, now=65.0).split("\n")
    assert header.startswith("<@U0ALICE01> asked for “a &lt;b&gt; &amp; &lt;!channel&gt; long")
    assert header.endswith("…” · 5 s · 9:16 · estimated $0.055") and "1:05 elapsed" in line
    assert thread_words.status_text(job.model_copy(update={"thread_ts": None}), now=65.0) == line
