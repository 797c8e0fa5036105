"""The content policy's matching and the `block` / `audit` admin grammar: pure, no I/O."""

from __future__ import annotations

import pytest

from bot.admin_commands import ListBlocked, SetBlocked, ShowAudit, parse_admin
from bot.commands import ParseError
from bot.policy import blocked_by, normalize


def test_normalize_drops_case_accents_and_punctuation():
    assert normalize("  Crème-BRÛLÉE!!  ") == "creme brulee"
    assert normalize("ÅNGSTRÖM\tstraße") == "angstrom strasse"
    assert normalize("?!…") == ""


@pytest.mark.parametrize(
    ("prompt", "hit"),
    [
        ("a NUCLÉAR explosion over a city", "nuclear explosion"),
        ("nuclear, explosion!", "nuclear explosion"),  # punctuation between the words
        ("a nuclear explosions montage", None),  # whole words only
        ("an unclear explosion", None),
        ("a nuclear power plant", None),  # part of a phrase is not the phrase
        ("Café at dawn", "cafe"),
        ("a cafeteria at dawn", None),
    ],
)
def test_blocked_by_matches_whole_words_and_phrases(prompt, hit):
    assert blocked_by(prompt, ["cafe", "nuclear explosion"]) == hit


def test_block_and_audit_grammar():
    assert parse_admin("block add Nuclear  Explosion") == SetBlocked("nuclear explosion", True)
    assert parse_admin("BLOCK remove café") == SetBlocked("cafe", False)
    assert parse_admin("block list") == ListBlocked()
    assert parse_admin("audit") == ShowAudit()
    for bad, needle in [
        ("block add", "Usage"),
        ("block", "Usage"),
        ("block drop x", "Usage"),
        ("block add ?!", "letters or digits"),
        ("block add " + "x" * 101, "at most 100"),
        ("block list all", "Usage"),
        ("audit everything", "Usage"),
    ]:
        parsed = parse_admin(bad)
        assert isinstance(parsed, ParseError) and needle in parsed.message, bad
