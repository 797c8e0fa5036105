"""One grammar for amounts, in Slack and in the shell: what is read, what is refused and why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.admin_commands import SetCap, SetDefaultBudget, SetUserBudget, parse_admin
from bot.commands import ParseError
from bot.money import MAX_MICROS, MoneyError, format_usd, parse_usd

micros = st.integers(min_value=0, max_value=MAX_MICROS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5_000_000),
        ("5.5", 5_500_000),
        ("$5.50", 5_500_000),
        ("$ 5.50", 5_500_000),
        ("5 USD", 5_000_000),
        ("5usd", 5_000_000),
        ("$5 USD", 5_000_000),
        ("1,000", 1_000_000_000),
        ("$1,000.50", 1_000_500_000),
        ("12,345,678.000001", 12_345_678_000_001),
        ("0.000001", 1),
        ("007", 7_000_000),
        ("  0  ", 0),
    ],
)
def test_amounts_read(text, expected):
    assert parse_usd(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("$5,00", "ambiguous"),  # five dollars in Europe, five hundred in the old parser
        ("5,00", "ambiguous"),
        ("1,5", "ambiguous"),
        ("1,50", "ambiguous"),
        ("1,0000", "ambiguous"),
        ("1000,50", "ambiguous"),
        (",500", "ambiguous"),
        ("1,000,00", "ambiguous"),
        ("1e9", "digits out"),
        ("1E3", "digits out"),
        ("5.0e1", "digits out"),
        ("1_000", "digits out"),
        ("-5", "negative"),
        ("$-5", "negative"),
        ("5.1234567", "more than 6 decimals"),
        ("1000000001", "too large"),
        ("99999999999999999999", "too large"),
        ("", "not an amount"),
        ("$", "not an amount"),
        ("five", "not an amount"),
        ("5.", "not an amount"),
        (".5", "not an amount"),
        ("NaN", "not an amount"),
        ("Infinity", "not an amount"),
        ("\u0665", "not an amount"),  # ARABIC-INDIC DIGIT FIVE: int() would read it
        ("5 EUR", "not an amount"),
        ("USD", "not an amount"),
        ("5 5", "not an amount"),
    ],
)
def test_ambiguous_or_wrong_amounts_are_refused_with_an_example(text, needle):
    with pytest.raises(MoneyError) as refused:
        parse_usd(text)
    assert needle in str(refused.value)
    assert any(
        example in str(refused.value) for example in ("5.00", "1,000", "5.50", "0 or more", "6", "$1,0")
    )


@given(micros)
def test_every_amount_shown_reads_back(value):
    # format_usd writes `$1,234.50`: what the app shows can be typed back in.
    assert parse_usd(format_usd(value)) == value


@given(micros, st.sampled_from(["{}", "${}", "{} USD", "$ {} usd"]), st.booleans())
def test_plain_and_grouped_forms_read_the_same(value, shape, grouped):
    whole, frac = divmod(value, 1_000_000)
    number = f"{whole:,}" if grouped else str(whole)
    if frac:
        number += "." + f"{frac:06d}".rstrip("0")
    assert parse_usd(shape.format(number)) == value


@given(st.integers(0, 999_999), st.sampled_from([1, 2, 4, 5]))
def test_a_comma_not_followed_by_three_digits_is_refused(whole, digits):
    with pytest.raises(MoneyError, match="ambiguous"):
        parse_usd(f"{whole},{'7' * digits}")


@given(st.text(max_size=40))
def test_any_text_is_an_amount_or_a_clear_refusal(text):
    try:
        value = parse_usd(text)
    except MoneyError as refused:
        assert str(refused)
    else:
        assert 0 <= value <= MAX_MICROS
        assert all(ch in "0123456789.,$ \t\n\r\x0b\x0cUSDusd" for ch in text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("budget <@U0123ABCD|ana> 5 USD", SetUserBudget("U0123ABCD", 5_000_000)),
        ("budget default $1,000.50", SetDefaultBudget(1_000_500_000)),
        ("cap 20 usd", SetCap(20_000_000)),
    ],
)
def test_admin_amounts_use_the_grammar(text, expected):
    assert parse_admin(text) == expected


@pytest.mark.parametrize(
    "text", ["budget <@U0123ABCD|ana> $5,00", "budget default 1,5", "cap $5,00", "cap 1e9"]
)
def test_admin_refuses_ambiguous_amounts(text):
    refused = parse_admin(text)
    assert isinstance(refused, ParseError) and "Usage" in refused.message
