"""The stand-in's model of a Slack workspace: channels, membership, messages, files, recordings.

Pure state with Slack's rules (who may post where, which error a refusal carries); no I/O.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ChannelKind = Literal["public", "private", "im"]

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T_STANDIN"


class ApiError(Exception):
    """A Slack Web API refusal: `{"ok": false, "error": error}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Channel:
    """A conversation and whether the bot is in it."""

    id: str
    kind: ChannelKind
    bot_member: bool
    name: str
    user: str | None = None  # the other party of a DM

    def as_api(self) -> dict[str, Any]:
        """The `channel` object of conversations.info."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "is_channel": self.kind == "public",
            "is_group": self.kind == "private",
            "is_im": self.kind == "im",
            "is_private": self.kind != "public",
            "is_member": self.bot_member,
            "is_archived": False,
        }
        if self.user is not None:
            out["user"] = self.user
        return out


@dataclass
class FileRecord:
    """An uploaded file, stored on disk."""

    id: str
    name: str
    path: Path
    size: int
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    shared: bool = False
    length: int = 0  # what files.getUploadURLExternal announced
    # Shares are processed asynchronously: files.info lists the channel only from this moment
    # (time.monotonic) on (https://docs.slack.dev/reference/methods/files.completeUploadExternal).
    visible_from: float = 0.0

    def as_api(self, now: float | None = None) -> dict[str, Any]:
        """The `file` object of files.info (as of `now`: a share still processing is not listed)."""
        listed = self.channel is not None and (now is None or now >= self.visible_from)
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "size": self.size,
            "channels": [self.channel] if listed else [],
            "url_private": f"https://files.standin.slack/{self.id}/{self.name}",
        }


@dataclass
class Message:
    """A message as people see it; `history` holds every text it has shown, the current one last."""

    ts: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    file: FileRecord | None = None
    history: list[str] = field(default_factory=list)

    @property
    def edits(self) -> int:
        """How many times the message was edited."""
        return max(0, len(self.history) - 1)

    def as_api(self) -> dict[str, Any]:
        """The `message` object of conversations.history / replies."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.user == BOT_USER:
            out["bot_id"] = BOT_ID
        if self.file is not None:
            out["files"] = [self.file.as_api()]
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass
class Ephemeral:
    """A message only `user` saw."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None


@dataclass
class Call:
    """One recorded request to the stand-in."""

    method: str
    params: dict[str, Any]
    time: float
    error: str | None = None
    done: float | None = None  # when it was answered (an upload: when its last byte was stored)


class Workspace:
    """Channels, messages and files of one fake workspace, with Slack's posting rules."""

    def __init__(self, bot_name: str = "videobot") -> None:
        self.bot_name = bot_name
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, str] = {BOT_USER: bot_name}
        self.all_messages: list[Message] = []
        self.files: list[FileRecord] = []
        self.pending_files: dict[str, FileRecord] = {}
        self.ephemerals: list[Ephemeral] = []
        self.calls: list[Call] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.share_processing_s = 1.0
        self.repeated_completes: list[str] = []  # file ids completed a second time
        self._last_ts = 0.0
        self._ids = itertools.count(1)
        self.add_channel("C_PUBLIC", "public", bot_member=True, name="general")
        self.add_channel("C_OTHER", "public", bot_member=False, name="random")
        self.add_channel("C_PRIVATE", "private", bot_member=False, name="secret")
        self.add_channel("D_USERS", "im", bot_member=False, name="dm-between-users")

    def add_channel(self, id: str, kind: ChannelKind, bot_member: bool, name: str | None = None) -> Channel:
        """Create (or replace) a conversation."""
        channel = Channel(id=id, kind=kind, bot_member=bot_member, name=name or id.lower())
        self.channels[id] = channel
        return channel

    def add_user(self, user_id: str, name: str) -> None:
        """Give a user a display name (unknown U… ids get a made-up one)."""
        self.users[user_id] = name

    def user_name(self, user_id: str) -> str:
        """Display name of a user."""
        return self.users.get(user_id, user_id.lower())

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id."""
        return f"{prefix}{next(self._ids):08d}"

    def new_ts(self) -> str:
        """A strictly increasing message timestamp."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    # --- rules -------------------------------------------------------------------------------------------

    def writable(self, channel_id: str) -> Channel:
        """The channel if the bot may post a message in it; else Slack's refusal.

        With `chat:write.public` a bot posts in any public channel without joining
        (https://docs.slack.dev/reference/scopes/chat.write.public); a private channel or DM it is not
        in is `channel_not_found` (https://docs.slack.dev/reference/methods/chat.postMessage).
        """
        channel = self.channels.get(channel_id)
        if channel is None or (channel.kind != "public" and not channel.bot_member):
            raise ApiError("channel_not_found")
        return channel

    def member_of(self, channel_id: str) -> Channel:
        """The channel if the bot is a member; sharing a file needs membership even in a public
        channel (`not_in_channel`), chat:write.public does not cover files."""
        channel = self.writable(channel_id)
        if not channel.bot_member:
            raise ApiError("not_in_channel")
        return channel

    def visible(self, channel_id: str) -> Channel:
        """The channel if the bot can see it at all."""
        channel = self.channels.get(channel_id)
        if channel is None or (channel.kind != "public" and not channel.bot_member):
            raise ApiError("channel_not_found")
        return channel

    def find(self, channel_id: str, ts: str) -> Message:
        """The message `ts` in `channel_id`."""
        for message in self.all_messages:
            if message.channel == channel_id and message.ts == ts:
                return message
        raise ApiError("message_not_found")

    def thread_root(self, channel_id: str, thread_ts: str | None) -> str | None:
        """The top-level ts a reply goes under (Slack threads under the root of a reply, too)."""
        if not thread_ts:
            return None
        try:
            parent = self.find(channel_id, thread_ts)
        except ApiError:
            raise ApiError("thread_not_found") from None
        return parent.thread_ts or parent.ts

    # --- actions -----------------------------------------------------------------------------------------

    def post(
        self,
        channel_id: str,
        text: str,
        *,
        user: str = BOT_USER,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        file: FileRecord | None = None,
    ) -> Message:
        """Post a message (the bot's unless `user` says otherwise) after checking the rules."""
        if user == BOT_USER:
            self.writable(channel_id)
        root = self.thread_root(channel_id, thread_ts)
        message = Message(
            ts=self.new_ts(),
            channel=channel_id,
            user=user,
            text=text,
            blocks=blocks,
            thread_ts=root,
            file=file,
            history=[text],
        )
        self.all_messages.append(message)
        return message

    def update(self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]] | None) -> Message:
        """Edit one of the bot's messages in place."""
        self.visible(channel_id)
        message = self.find(channel_id, ts)
        if message.user != BOT_USER:
            raise ApiError("cant_update_message")
        message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.history.append(text)
        return message

    def join(self, channel_id: str) -> Channel:
        """conversations.join: only public channels can be joined."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ApiError("channel_not_found")
        if channel.kind != "public":
            raise ApiError("method_not_supported_for_channel_type")
        channel.bot_member = True
        return channel

    def open_dm(self, user: str) -> Channel:
        """conversations.open with one user: the bot's DM with them."""
        if not user or "," in user:
            raise ApiError("user_not_found" if not user else "not_allowed_token_type")
        for channel in self.channels.values():
            if channel.kind == "im" and channel.user == user and channel.bot_member:
                return channel
        channel = self.add_channel(self.new_id("D"), "im", bot_member=True, name=f"dm-{user.lower()}")
        channel.user = user
        return channel

    def share_file(
        self, file_id: str, channel_id: str | None, thread_ts: str | None, comment: str | None
    ) -> FileRecord:
        """files.completeUploadExternal for one file: it appears in the thread with the comment."""
        record = self.pending_files.get(file_id)
        if record is None and any(f.id == file_id for f in self.files):
            # The upload ticket is spent by the first completion: "Could not find the file from the
            # upload ticket" (files.completeUploadExternal errors). Recorded: the app must not do this.
            self.repeated_completes.append(file_id)
        if record is None or record.size < 0:
            raise ApiError("file_not_found" if record is None else "file_upload_not_complete")
        if channel_id:
            self.member_of(channel_id)
            self.thread_root(channel_id, thread_ts)
            record.channel, record.thread_ts, record.initial_comment = channel_id, thread_ts, comment
            record.shared = True
            record.visible_from = time.monotonic() + self.share_processing_s
            self.post(channel_id, comment or "", thread_ts=thread_ts, file=record)
        del self.pending_files[file_id]
        self.files.append(record)
        return record

    # --- reading -----------------------------------------------------------------------------------------

    def messages(self, channel_id: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        return [m for m in self.all_messages if m.channel == channel_id and m.thread_ts is None]

    def thread(self, channel_id: str, ts: str) -> list[Message]:
        """The parent and its replies (files included), oldest first."""
        return [m for m in self.all_messages if m.channel == channel_id and (m.ts == ts or m.thread_ts == ts)]

    def render_thread(self, channel_id: str, ts: str) -> str:
        """The thread as a person reads it: who said what, edits, files with size and comment."""
        channel = self.channels.get(channel_id)
        where = f"#{channel.name}" if channel is not None and channel.kind != "im" else channel_id
        lines = [f"── {where} ({channel_id}), thread {ts} ──"]
        for index, message in enumerate(self.thread(channel_id, ts)):
            prefix = "" if index == 0 else "  ↳ "
            who = self.user_name(message.user)
            edited = f" (edited {message.edits}×)" if message.edits else ""
            if message.file is not None:
                f = message.file
                comment = f" — {message.text}" if message.text else ""
                lines.append(f"{prefix}{who}: [file {f.name}, {_size(f.size)}]{comment}")
            else:
                text = message.text.replace("\n", "\n" + " " * (len(prefix) + len(who) + 2))
                lines.append(f"{prefix}{who}{edited}: {text}")
        return "\n".join(lines)

    def state(self) -> dict[str, Any]:
        """Everything recorded, as JSON-able data."""
        return {
            "calls": [asdict(c) for c in self.calls],
            "channels": [asdict(c) for c in self.channels.values()],
            "messages": [
                m.as_api() | {"channel": m.channel, "history": m.history} for m in self.all_messages
            ],
            "files": [asdict(f) | {"path": str(f.path)} for f in self.files],
            "ephemerals": [asdict(e) for e in self.ephemerals],
        }


def _size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.1f} kB"
    return f"{size} B"
