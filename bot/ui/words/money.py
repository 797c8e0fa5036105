"""The words for an amount that cannot be read (admin commands, settings). Plain text; escaped where
it is shown."""

from __future__ import annotations


def not_an_amount(text: str) -> str:
    """Not a number of dollars at all."""
    return f"'{text}' is not an amount; write it like 5, 5.5 or $5.50"


def negative(text: str) -> str:
    """A negative amount."""
    return f"'{text}' is negative; amounts must be 0 or more"


def too_precise(text: str) -> str:
    """Finer than a micro-dollar."""
    return f"'{text}' has more than 6 decimals; use at most 6 (micro-dollars)"


def too_large(text: str) -> str:
    """More than any budget needs."""
    return f"'{text}' is too large; use at most $1,000,000,000"
