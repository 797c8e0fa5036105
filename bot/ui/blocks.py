"""Pure Block Kit builders: data in, a list of block dicts out, always within Slack's limits.

Each builder returns a plain list, so a caller (a later Regenerate button) can append an `actions`
block; `finish` re-checks the block count for such compositions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.ui import messages
from storage.models import BudgetStatus, Job

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


def parent_blocks(job: Job) -> list[dict[str, Any]]:
    """The channel message: who asked, the quoted prompt, duration · ratio · estimated cost."""
    header = messages.parent_header(job)
    body = truncate_mrkdwn(messages.quote(job.prompt), MAX_SECTION_CHARS - len(header) - 1)
    return finish([section(f"{header}\n{body}"), context(messages.parent_details(job))])


def status_blocks(job: Job, now: float | None = None) -> list[dict[str, Any]]:
    """The status message in the thread."""
    return finish([context(messages.status_text(job, now))])


def failure_blocks(job: Job, status: BudgetStatus) -> list[dict[str, Any]]:
    """The thread reply for a failed or given-up job."""
    return finish([section(messages.failure_reply(job, status))])


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
