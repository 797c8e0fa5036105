"""Parsing `/video` text (and the form's values) into typed requests; pure, never raises on any input.
`/video-admin` has its own grammar in `bot.admin_commands`.

`/video <prompt> [--duration N | -d N] [--ar W:H | --aspect W:H]`: flags may stand anywhere, `—` and
`–` count as `--` (Slack and phones turn `--` into dashes), `--flag=value` works too. The words
`help`, `budget`, `history` alone are subcommands; anything else is a prompt.

Slack sends slash-command text with `&`, `<`, `>` escaped and mentions as `<@U123|name>`; the prompt
we keep is what the person meant (`cats & dogs`, `@name`), and is escaped again wherever it is shown.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.settings import Settings
from bot.ui.words import video as video_words

MAX_PROMPT_CHARS = 2000

_DASHES = ("\u2014", "\u2013")  # em dash, en dash
_FLAG = re.compile(r"^--?[A-Za-z]")
_NUMBER = re.compile(r"^([0-9]+)\s*(?:s|sec|secs|seconds?)?$", re.IGNORECASE)
_RATIO = re.compile(r"^([0-9]{1,4})\s*[:x×/]\s*([0-9]{1,4})$", re.IGNORECASE)
_MARKUP = re.compile(r"<([^<>]*)>")
# Bidirectional controls (U+202E turns the rest of a line around: "gpj.exe" reads as "exe.jpg") and
# zero-width characters hide or reorder what a prompt says, in the thread, the file title and the CSV.
_INVISIBLE = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f"  # zero-width
)
_WHITESPACE_CONTROLS = str.maketrans({c: " " for c in "\t\n\v\f\r\x85"})
_FLAG_NAMES: dict[str, Literal["duration", "ratio"]] = {
    "--duration": "duration",
    "-d": "duration",
    "--d": "duration",  # `—d`: a phone's dash in front of the short flag
    "--ar": "ratio",
    "--aspect": "ratio",
    "--aspect-ratio": "ratio",
}


@dataclass(frozen=True)
class VideoRequest:
    """A prompt to render, with the duration (seconds) and aspect ratio it asked for or the defaults."""

    prompt: str
    duration: int
    aspect_ratio: str


@dataclass(frozen=True)
class Subcommand:
    """`/video help | budget | history`."""

    name: Literal["help", "budget", "history"]


@dataclass(frozen=True)
class ParseError:
    """Text we could not read; `message` says what is wrong and how to fix it."""

    message: str


_SUBCOMMANDS: dict[str, Subcommand] = {
    s.name: s for s in (Subcommand("help"), Subcommand("budget"), Subcommand("history"))
}


def clean_text(text: str) -> str:
    """NFC-normalise; drop control, bidirectional and zero-width characters (line breaks become spaces)."""
    if text.isascii() and text.isprintable():
        return text  # nothing to drop or compose (the usual prompt: a quick answer to an ack)
    spaced = text.translate(_WHITESPACE_CONTROLS)
    kept = "".join(ch for ch in spaced if ch >= " " and not "\x7f" <= ch <= "\x9f" and ch not in _INVISIBLE)
    # Last, so that a mark freed from an invisible neighbour ("e", ZWSP, U+0301) composes too.
    return unicodedata.normalize("NFC", kept)


def _markup_words(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("!"):
        # <!here>, <!channel>, <!subteam^S1|@team>: keep readable words, never the ping itself.
        return label or "@" + target[1:].split("^")[0]
    if label:
        return label if target[:1] not in "@#" else target[0] + label.lstrip("@#")
    return target


def unslack(text: str) -> str:
    """Turn Slack's escaped command text back into what the person typed."""
    plain = _MARKUP.sub(_markup_words, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def strip_mention(text: str, user_id: str | None) -> str:
    """`text` without any mention of `user_id` (`<@U1>`, `<@U1|name>`); without an id, the leading one.

    An @mention of the bot reads as `<@UBOT> a slow drone shot`: the prompt is what follows.
    """
    if user_id:
        return re.sub(rf"<@{re.escape(user_id)}(?:\|[^<>]*)?>", " ", text)
    return re.sub(r"^\s*<@[UW][A-Z0-9]+(?:\|[^<>]*)?>", " ", text)


def _canonical_flag(token: str) -> str:
    for dash in _DASHES:
        if token.startswith(dash):
            return "--" + token[len(dash) :].lstrip("".join(_DASHES))
    return token


def _is_flag(token: str) -> bool:
    return bool(_FLAG.match(_canonical_flag(token)))


def _parse_duration(value: str, settings: Settings) -> int | ParseError:
    match = _NUMBER.match(value)
    if match is None:
        return ParseError(video_words.err_bad_duration(value, settings))
    digits = match.group(1).lstrip("0") or "0"
    seconds = int(digits) if len(digits) <= 6 else 10**6
    if not settings.duration_min <= seconds <= settings.duration_max:
        return ParseError(video_words.err_duration_range(value, settings))
    return seconds


def _parse_ratio(value: str, settings: Settings) -> str | ParseError:
    match = _RATIO.match(value)
    ratio = f"{int(match.group(1))}:{int(match.group(2))}" if match else value
    if ratio not in settings.aspect_ratios:
        return ParseError(video_words.err_bad_ratio(value, settings))
    return ratio


def _split_flags(tokens: list[str]) -> tuple[list[str], dict[str, tuple[str, str]]] | ParseError:
    """Separate prompt words from flags; flags map kind -> (flag as typed, value)."""
    words: list[str] = []
    flags: dict[str, tuple[str, str]] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not _is_flag(token):
            words.append(token)
            continue
        name, eq, value = _canonical_flag(token).partition("=")
        kind = _FLAG_NAMES.get(name.lower())
        if kind is None:
            return ParseError(video_words.err_unknown_flag(token.partition("=")[0]))
        if not eq:
            if i >= len(tokens) or _is_flag(tokens[i]):
                return ParseError(video_words.err_missing_value(name, kind))
            value = tokens[i]
            i += 1
        if not value:
            return ParseError(video_words.err_missing_value(name, kind))
        if kind in flags:
            return ParseError(video_words.err_duplicate_flag(kind))
        flags[kind] = (name, value)
    return words, flags


def parse_video(text: str, settings: Settings) -> VideoRequest | Subcommand | ParseError:
    """Read the text after `/video`; never raises."""
    cleaned = unslack(clean_text(text))
    sub = _SUBCOMMANDS.get(cleaned.strip().lower())
    if sub is not None:
        return sub
    split = _split_flags(cleaned.split())
    if isinstance(split, ParseError):
        return split
    words, flags = split
    duration: int | ParseError = settings.duration_default
    ratio: str | ParseError = settings.default_aspect_ratio
    if "duration" in flags:
        duration = _parse_duration(flags["duration"][1], settings)
    if "ratio" in flags:
        ratio = _parse_ratio(flags["ratio"][1], settings)
    prompt = " ".join(words)
    if not prompt:
        return ParseError(video_words.err_empty_prompt())
    if len(prompt) > MAX_PROMPT_CHARS:
        return ParseError(video_words.err_prompt_too_long(len(prompt), MAX_PROMPT_CHARS))
    if isinstance(duration, ParseError):
        return duration
    if isinstance(ratio, ParseError):
        return ratio
    return VideoRequest(prompt=prompt, duration=duration, aspect_ratio=ratio)


FORM_VALUE_CHARS = 16  # a length or ratio menu's value is short; more is forged, and not echoed back


def check_form(
    prompt: str, duration: str | None, ratio: str | None, settings: Settings
) -> VideoRequest | dict[str, str]:
    """The form's values, checked by the command's own rules; else field errors by block id.

    A view submission is as untrusted as command text: its menus can be sent with any value.
    """
    errors: dict[str, str] = {}
    text = " ".join(clean_text(prompt).split())  # a form field is plain text, not escaped like commands
    if not text:
        errors["prompt"] = video_words.err_empty_prompt()
    elif len(text) > MAX_PROMPT_CHARS:
        errors["prompt"] = video_words.err_prompt_too_long(len(text), MAX_PROMPT_CHARS)
    seconds, shape = _form_choices(duration, ratio, settings)
    if isinstance(seconds, ParseError):
        errors["duration"] = seconds.message
    if isinstance(shape, ParseError):
        errors["ratio"] = shape.message
    if errors or isinstance(seconds, ParseError) or isinstance(shape, ParseError):
        return errors
    return VideoRequest(prompt=text, duration=seconds, aspect_ratio=shape)


def _form_choices(
    duration: str | None, ratio: str | None, settings: Settings
) -> tuple[int | ParseError, str | ParseError]:
    seconds: int | ParseError = settings.duration_default
    if duration is not None:
        seconds = _parse_duration(clean_text(duration)[:FORM_VALUE_CHARS], settings)
    shape: str | ParseError = settings.default_aspect_ratio
    if ratio is not None:
        shape = _parse_ratio(clean_text(ratio)[:FORM_VALUE_CHARS], settings)
    return seconds, shape


def form_choices(
    duration: str | None, ratio: str | None, settings: Settings
) -> tuple[int | None, str | None]:
    """The form's length and ratio for its live estimate, each None when it is not an allowed value."""
    seconds, shape = _form_choices(duration, ratio, settings)
    return (
        None if isinstance(seconds, ParseError) else seconds,
        None if isinstance(shape, ParseError) else shape,
    )
