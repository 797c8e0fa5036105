"""Block Kit primitives every surface uses: sections and context lines truncated to Slack's limits,
and `finish`, which serialises blocks and keeps at most MAX_BLOCKS. Pure: data in, dicts out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

MAX_SECTION_CHARS = 3000


MAX_CONTEXT_CHARS = 3000


MAX_BLOCKS = 50


ELLIPSIS = "…"


def truncate_mrkdwn(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    """Cut escaped mrkdwn to at most `limit` characters without splitting `&amp;` or `<...>` markup."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ELLIPSIS))]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut + ELLIPSIS


def section(text: str) -> SectionBlock:
    """A mrkdwn section, truncated to fit."""
    return SectionBlock(text=MarkdownTextObject(text=truncate_mrkdwn(text, MAX_SECTION_CHARS)))


def context(text: str) -> ContextBlock:
    """A one-element mrkdwn context line, truncated to fit."""
    return ContextBlock(elements=[MarkdownTextObject(text=truncate_mrkdwn(text, MAX_CONTEXT_CHARS))])


def finish(blocks: Sequence[Block | dict[str, Any]]) -> list[dict[str, Any]]:
    """Serialise blocks (objects or dicts), keeping at most MAX_BLOCKS."""
    out: list[dict[str, Any]] = []
    for block in blocks[:MAX_BLOCKS]:
        out.append(block if isinstance(block, dict) else block.to_dict())
    return out


def text_blocks(text: str) -> list[dict[str, Any]]:
    """Any long mrkdwn answer as sections of at most MAX_SECTION_CHARS, split at line breaks."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = truncate_mrkdwn(line, MAX_SECTION_CHARS)
        if current and len(current) + 1 + len(line) > MAX_SECTION_CHARS:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return finish([section(chunk) for chunk in chunks])
