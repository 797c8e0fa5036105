"""Parsing `/video` and `/video-admin` text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.admin_commands import (
    AdminHelp,
    Export,
    SetCap,
    SetDefaultBudget,
    SetFrozen,
    SetUserBudget,
    ShowUsage,
    parse_admin,
    parse_user,
)
from bot.commands import MAX_PROMPT_CHARS, ParseError, Subcommand, VideoRequest, parse_video
from bot.settings import Settings

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def video(text: str) -> VideoRequest | Subcommand | ParseError:
    return parse_video(text, SETTINGS)


def slack_escape(text: str) -> str:
    """What Slack does to slash-command text before sending it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- /video examples -----------------------------------------------------------------------------


def test_defaults_come_from_settings():
    assert video("a slow drone shot over a lake") == VideoRequest(
        "a slow drone shot over a lake", SETTINGS.duration_default, SETTINGS.default_aspect_ratio
    )


@pytest.mark.parametrize(
    "text",
    [
        "a cat --duration 7 --ar 9:16",
        "--ar 9:16 a cat -d 7",
        "a —ar 9:16 cat –duration 7",
        "a cat --duration=7 --aspect=9:16",
        "—duration 7 a cat —aspect 9:16",
        "a cat -d 7s --AR 9:16",
        "a\tcat\n-d 7 --ar 9:16",
    ],
)
def test_flags_anywhere_with_any_dash(text):
    assert video(text) == VideoRequest("a cat", 7, "9:16")


@pytest.mark.parametrize("word", ["help", "budget", "history", " HeLp ", "\nBudget\t"])
def test_subcommands_only_as_the_whole_text(word):
    assert video(word) == Subcommand(word.strip().lower())


@pytest.mark.parametrize("text", ["help me make a cat", "budget cuts, the movie", "history -d 5"])
def test_subcommand_words_inside_text_are_prompts(text):
    assert isinstance(video(text), VideoRequest)


def test_prompt_keeps_case_and_punctuation_and_normalises_whitespace():
    result = video("  A Lake —  at DAWN!  well-known,   -5 degrees \n\n (slow)  ")
    assert isinstance(result, VideoRequest)
    assert result.prompt == "A Lake — at DAWN! well-known, -5 degrees (slow)"


def test_control_characters_are_stripped():
    result = video("a\x00b\x07c\x1bd\nnext\rline\x7f")
    assert isinstance(result, VideoRequest)
    assert result.prompt == "abcd next line"


def test_slack_escapes_and_markup_become_what_was_typed():
    result = video("cats &amp; dogs &lt;!channel&gt; <@U123|bob> <!here> <#C1|general> <https://x.y|site>")
    assert isinstance(result, VideoRequest)
    assert result.prompt == "cats & dogs <!channel> @bob @here #general site"


def error(text: str) -> str:
    result = video(text)
    assert isinstance(result, ParseError), result
    return result.message


@pytest.mark.parametrize("text", ["", "   ", "--duration 5", "-d 5 —ar 1:1", "\x00\x01"])
def test_empty_prompt(text):
    message = error(text)
    assert "no prompt" in message and "/video" in message


@pytest.mark.parametrize(
    ("text", "flag"), [("a cat --speed 2", "--speed"), ("a -x cat", "-x"), ("a —fps=3", "—fps")]
)
def test_unknown_flag_is_named_with_the_known_ones(text, flag):
    message = error(text)
    assert flag in message and "--duration" in message and "--ar" in message


@pytest.mark.parametrize("text", ["a cat --duration", "a cat -d --ar 1:1", "a cat --ar=", "a --ar"])
def test_missing_value(text):
    assert "needs a value" in error(text)


@pytest.mark.parametrize("value", ["five", "5.5", "1e1", "½", "-", "5m"])
def test_bad_number(value):
    message = error(f"a cat --duration {value}")
    assert "not a number" in message and f"from {SETTINGS.duration_min} to {SETTINGS.duration_max}" in message


@pytest.mark.parametrize("value", ["0", "3", "16", "-5", "999999999999999999999", "9" * 5000])
def test_duration_out_of_range(value):
    message = error(f"a cat -d {value}")
    assert "4 s to 15 s" in message or "not a number" in message


def test_aspect_ratio_not_allowed_lists_the_allowed_ones():
    message = error("a cat --ar 5:4")
    assert "5:4" in message
    for ratio in SETTINGS.aspect_ratios:
        assert ratio in message


def test_aspect_ratio_spelled_with_x():
    assert video("a cat --ar 16x9") == VideoRequest("a cat", 5, "16:9")


def test_duplicate_flag():
    assert "twice" in error("a cat -d 5 --duration 6")
    assert "twice" in error("a cat --ar 1:1 —aspect 1:1")


def test_prompt_length_limit():
    assert isinstance(video("x" * MAX_PROMPT_CHARS), VideoRequest)
    message = error("x" * (MAX_PROMPT_CHARS + 1))
    assert "2,001" in message and "2,000" in message


def test_user_values_in_errors_are_escaped():
    message = error("a cat --ar &lt;!channel&gt;")
    assert "<!channel>" not in message and "&lt;!channel&gt;" in message


# --- /video properties ---------------------------------------------------------------------------

# Words as people type them, already NFC and without invisible format characters (Cf): those are
# normalised and stripped, which test_prompts_are_normalised_and_invisible_characters_dropped covers.
_word = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")),
        min_size=1,
        max_size=12,
    )
    .map(lambda w: unicodedata.normalize("NFC", w))
    .filter(lambda w: w[0] not in "-—–")
)
_dur_flag = st.sampled_from(["--duration", "-d", "—duration", "–duration", "—d"])
_ratio_flag = st.sampled_from(["--ar", "--aspect", "—ar", "–aspect"])


@given(
    words=st.lists(_word, min_size=1, max_size=30),
    duration=st.integers(SETTINGS.duration_min, SETTINGS.duration_max),
    ratio=st.sampled_from(SETTINGS.aspect_ratios),
    flags=st.tuples(_dur_flag, _ratio_flag, st.booleans(), st.booleans()),
    positions=st.tuples(st.integers(0, 30), st.integers(0, 30)),
    sep=st.sampled_from([" ", "  ", "\n", "\t "]),
)
def test_prompt_and_flags_round_trip(words, duration, ratio, flags, positions, sep):
    dur_flag, ratio_flag, dur_eq, ratio_eq = flags
    prompt = " ".join(words)
    assume(prompt.strip().lower() not in ("help", "budget", "history"))
    assume(len(prompt) <= MAX_PROMPT_CHARS)
    tokens = [slack_escape(w) for w in words]
    tokens.insert(
        min(positions[0], len(tokens)), f"{dur_flag}={duration}" if dur_eq else f"{dur_flag} {duration}"
    )
    tokens.insert(
        min(positions[1], len(tokens)), f"{ratio_flag}={ratio}" if ratio_eq else f"{ratio_flag} {ratio}"
    )
    assert video(sep.join(tokens)) == VideoRequest(prompt, duration, ratio)


@given(words=st.lists(_word, min_size=1, max_size=5), duration=st.integers())
def test_invalid_durations_always_refused(words, duration):
    assume(not SETTINGS.duration_min <= duration <= SETTINGS.duration_max)
    text = " ".join(slack_escape(w) for w in words) + f" --duration {duration}"
    assert isinstance(video(text), ParseError)


_junk = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.one_of(
            st.sampled_from(
                ["--duration", "-d", "—ar", "–", "—", "--ar=", "-d=", "=", "help", "<@U1|x>", "&amp;"]
            ),
            st.integers(-20, 30).map(str),
            st.text(max_size=8),
        ),
        max_size=12,
    ).map(" ".join),
)


@given(text=_junk)
def test_never_raises(text):
    result = video(text)
    assert isinstance(result, VideoRequest | Subcommand | ParseError)
    if isinstance(result, ParseError):
        assert result.message
    if isinstance(result, VideoRequest):
        assert result.prompt and result.prompt == " ".join(result.prompt.split())
        assert SETTINGS.duration_min <= result.duration <= SETTINGS.duration_max
        assert result.aspect_ratio in SETTINGS.aspect_ratios


# --- /video-admin --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", AdminHelp()),
        ("  help ", AdminHelp()),
        ("budget <@U0123ABCD|ana> 10", SetUserBudget("U0123ABCD", 10_000_000)),
        ("budget <@U0123ABCD|Ana Maria> $5.50", SetUserBudget("U0123ABCD", 5_500_000)),
        ("BUDGET <@U0123ABCD> 5.5", SetUserBudget("U0123ABCD", 5_500_000)),
        ("budget U0123ABCD 0", SetUserBudget("U0123ABCD", 0)),
        ("budget default 2", SetDefaultBudget(2_000_000)),
        ("cap 100", SetCap(100_000_000)),
        ("cap off", SetCap(None)),
        ("usage", ShowUsage(None)),
        ("usage <@W0AB1|bo>", ShowUsage("W0AB1")),
        ("freeze <@U0123ABCD>", SetFrozen("U0123ABCD", True)),
        ("unfreeze U0123ABCD", SetFrozen("U0123ABCD", False)),
        ("export", Export()),
    ],
)
def test_admin_commands(text, expected):
    assert parse_admin(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("budget <@U0123ABCD> lots", "not an amount"),
        ("budget <@U0123ABCD> -5", "negative"),
        ("budget bob 5", "not a person"),
        ("budget <@U0123ABCD>", "Usage: `budget <@user> <usd>`"),
        ("cap", "Usage: `cap <usd>` · `cap off`"),
        ("freeze", "Usage: `freeze <@user>`"),
        ("freeze everyone", "not a person"),
        ("export now", "Usage: `export`"),
        ("usage a b", "Usage: `usage`"),
        ("launch <!channel>", "don't know the admin command"),
    ],
)
def test_admin_errors_say_what_and_how(text, needle):
    result = parse_admin(text)
    assert isinstance(result, ParseError)
    assert needle in result.message
    assert "<!channel>" not in result.message


@pytest.mark.parametrize(
    ("token", "user"),
    [("<@U1AB|x>", "U1AB"), ("<@U1AB>", "U1AB"), ("U0123ABCD", "U0123ABCD"), ("u0123abcd", "U0123ABCD"),
     ("USAGE", None), ("bob", None), ("<#C123|general>", None), ("<@U1AB", None)],
)  # fmt: skip
def test_parse_user(token, user):
    assert parse_user(token) == user


@given(st.text(max_size=200))
def test_admin_never_raises(text):
    assert parse_admin(text) is not None


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("a cat\u202e4pm.exe", "a cat4pm.exe"),  # right-to-left override
        ("\u2066a\u2069 \u200fdog\u200e", "a dog"),  # isolates and marks
        ("zero\u200bwidth jo\u200diner\ufeff", "zerowidth joiner"),
        ("cafe\u0301", "caf\u00e9"),  # NFC: one é, however it was typed
        ("soft\u00adhyphen", "softhyphen"),
        ("e\u200b\u0301", "\u00e9"),  # the mark left next to its letter composes
    ],
)
def test_prompts_are_normalised_and_invisible_characters_dropped(typed, kept):
    assert video(typed) == VideoRequest(kept, SETTINGS.duration_default, SETTINGS.default_aspect_ratio)


@given(st.text(max_size=60))
def test_no_prompt_keeps_an_invisible_or_unnormalised_character(text):
    request = video(text + " x")
    if isinstance(request, VideoRequest):
        assert unicodedata.is_normalized("NFC", request.prompt)
        assert not any(
            ch in request.prompt
            for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi controls
            "\u200b\u200c\u200d\u200e\u200f\ufeff"  # zero-width
        )
