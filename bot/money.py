"""Money as integer micro-dollars: parsing what people type, showing what they read."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.ui.words import money as words
from storage.errors import MoneyError

MICROS_PER_USD = 1_000_000


def parse_usd(text: str) -> int:
    """Read `5`, `5.5`, `$5.50` (or `5 USD`) as micro-dollars; refuse anything else."""
    raw = text.strip().replace(",", "")
    if raw.lower().endswith("usd"):
        raw = raw[:-3].strip()
    if raw.startswith("$"):
        raw = raw[1:].strip()
    if not raw or (raw[0] in "+-" and not raw[1:]):
        raise MoneyError(words.not_an_amount(text))
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(words.not_an_amount(text)) from None
    if not value.is_finite():
        raise MoneyError(words.not_an_amount(text))
    if value < 0:
        raise MoneyError(words.negative(text))
    micros = value * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise MoneyError(words.too_precise(text))
    if micros > 10**15:
        raise MoneyError(words.too_large(text))
    return int(micros)


def format_usd(micros: int) -> str:
    """Show micro-dollars as `$1.00`, `$0.055`, `$12.50`: two decimals, more only when needed."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS_PER_USD)
    digits = f"{frac:06d}".rstrip("0")
    digits = digits.ljust(2, "0")
    return f"{sign}${whole:,}.{digits}"
