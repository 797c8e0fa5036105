"""The words for an amount that cannot be read (admin commands, settings). Plain text; escaped where
it is shown."""

from __future__ import annotations

_EXAMPLE = "write it like 5, 5.50, $1,000.50 or 5 USD"


def not_an_amount(text: str) -> str:
    """Not a number of dollars at all."""
    return f"'{text}' is not an amount; {_EXAMPLE}"


def negative(text: str) -> str:
    """A negative amount."""
    return f"'{text}' is negative; amounts must be 0 or more"


def ambiguous_comma(text: str) -> str:
    """A comma that is not a thousands separator (`5,00`, `1,5`)."""
    return (
        f"'{text}' is ambiguous: a comma only separates thousands (1,000.50); "
        "for cents use a point, like 5.00 or 1.50"
    )


def digits_out(text: str) -> str:
    """An exponent or underscores (`1e6`, `1_000`)."""
    return f"'{text}' is not an amount; write the digits out, like 1000000 or 1,000,000"


def too_precise(text: str) -> str:
    """Finer than a micro-dollar."""
    return f"'{text}' has more than 6 decimals; use at most 6 (micro-dollars)"


def too_large(text: str) -> str:
    """More than any budget needs."""
    return f"'{text}' is too large; use at most $1,000,000,000"
