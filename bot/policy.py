"""The workspace content policy: prompts containing a blocked term are refused before any money moves.

Matching is case- and accent-insensitive and on whole words or phrases: both the prompt and the terms
are normalized (accents dropped, case folded, everything but letters and digits turned into single
spaces), and a term matches where it stands between word boundaries. `Café` blocks `cafe` and `CAFÉ`,
not `cafeteria`.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Sequence

from storage.api import Store

MAX_TERM_CHARS = 100
CACHE_S = 2.0  # another replica's `block add` applies here within this long


def normalize(text: str) -> str:
    """Lower case, no accents, words separated by single spaces: the form terms are kept and matched in."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in bare).split())


def blocked_by(prompt: str, terms: Sequence[str]) -> str | None:
    """The first blocked term the prompt contains as whole words, or None."""
    padded = f" {normalize(prompt)} "
    return next((term for term in terms if f" {term} " in padded), None)


class ContentPolicy:
    """The blocked terms, read from the store at most every CACHE_S seconds (acks wait on this)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._terms: list[str] = []
        self._read_at: float | None = None

    async def refuses(self, store: Store, prompt: str) -> bool:
        """True when `prompt` contains a blocked term."""
        now = self._clock()
        if self._read_at is None or now - self._read_at >= CACHE_S:
            self._terms, self._read_at = await store.blocked_terms(), now
        return bool(self._terms) and blocked_by(prompt, self._terms) is not None

    def forget(self) -> None:
        """Read the terms again at the next check (after this replica changed them)."""
        self._read_at = None
