"""Money as integer micro-dollars: parsing what people type, showing what they read."""

from __future__ import annotations

import re

from bot.ui.words import money as words
from storage.errors import MoneyError

MICROS_PER_USD = 1_000_000
MAX_MICROS = 10**15  # $1,000,000,000: no budget or cap is larger

# The one grammar for amounts, in Slack and in the shell: digits, optionally `.` and 1 to 6 decimals;
# commas only as thousands separators in groups of three (`1,000.50`); an optional `$` in front and
# an optional `USD` behind. Only ASCII digits: `int()` would also read other scripts' digits.
_AMOUNT = re.compile(
    r"^\$?\s*(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?(?:\s*USD)?$",
    re.IGNORECASE,
)


def _why_not(text: str, raw: str) -> str:
    """What is wrong with an amount the grammar refused, and how to write it."""
    if raw.lstrip("$ ").startswith("-"):
        return words.negative(text)
    if "," in raw:
        return words.ambiguous_comma(text)
    if "_" in raw or re.search(r"[0-9.]e", raw, re.IGNORECASE):
        return words.digits_out(text)
    return words.not_an_amount(text)


def parse_usd(text: str) -> int:
    """Read `5`, `5.5`, `$5.50`, `1,000.50` or `5 USD` as micro-dollars; refuse anything else."""
    raw = text.strip()
    match = _AMOUNT.match(raw)
    if match is None:
        raise MoneyError(_why_not(text, raw))
    frac = match.group("frac") or ""
    if len(frac) > 6:
        raise MoneyError(words.too_precise(text))
    whole = match.group("whole").replace(",", "").lstrip("0") or "0"
    if len(whole) > 10:
        raise MoneyError(words.too_large(text))
    micros = int(whole) * MICROS_PER_USD + int(frac.ljust(6, "0"))
    if micros > MAX_MICROS:
        raise MoneyError(words.too_large(text))
    return micros


def format_usd(micros: int) -> str:
    """Show micro-dollars as `$1.00`, `$0.055`, `$12.50`: two decimals, more only when needed."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS_PER_USD)
    digits = f"{frac:06d}".rstrip("0")
    digits = digits.ljust(2, "0")
    return f"{sign}${whole:,}.{digits}"
