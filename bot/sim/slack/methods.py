"""Slack Web API methods of the stand-in: each takes the request's params and returns the JSON answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.sim.slack.workspace import BOT_ID, BOT_USER, TEAM_ID, ApiError, Ephemeral, FileRecord, Workspace

Handler = Callable[[Workspace, dict[str, Any], str, Path], dict[str, Any]]


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError("invalid_arguments")
    return str(value)


def _blocks(params: dict[str, Any]) -> list[dict[str, Any]] | None:
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            raise ApiError("invalid_blocks") from None
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks")
    return blocks


def _text(params: dict[str, Any]) -> str:
    text = params.get("text")
    if not text and not params.get("blocks"):
        raise ApiError("no_text")
    return str(text or "")


def auth_test(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """auth.test."""
    return {
        "url": "https://standin.slack.com/",
        "team": "Stand-in",
        "user": ws.bot_name,
        "team_id": TEAM_ID,
        "user_id": BOT_USER,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """chat.postMessage."""
    channel = _required(params, "channel")
    message = ws.post(
        channel, _text(params), blocks=_blocks(params), thread_ts=params.get("thread_ts") or None
    )
    return {"channel": channel, "ts": message.ts, "message": message.as_api()}


def chat_update(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """chat.update."""
    channel = _required(params, "channel")
    message = ws.update(channel, _required(params, "ts"), _text(params), _blocks(params))
    return {"channel": channel, "ts": message.ts, "text": message.text, "message": message.as_api()}


def chat_post_ephemeral(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """chat.postEphemeral."""
    channel = _required(params, "channel")
    ws.writable(channel)
    # thread_ts shows it inside that thread (https://api.slack.com/methods/chat.postEphemeral).
    thread_ts = ws.thread_root(channel, params.get("thread_ts") or None)
    ws.ephemerals.append(
        Ephemeral(channel, _required(params, "user"), _text(params), _blocks(params), thread_ts=thread_ts)
    )
    return {"message_ts": ws.new_ts()}


def chat_get_permalink(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """chat.getPermalink."""
    channel = _required(params, "channel")
    ws.visible(channel)
    message = ws.find(channel, _required(params, "message_ts"))
    link = f"https://standin.slack.com/archives/{channel}/p{message.ts.replace('.', '')}"
    if message.thread_ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}


def conversations_join(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """conversations.join."""
    channel_id = _required(params, "channel")
    already = channel_id in ws.channels and ws.channels[channel_id].bot_member
    channel = ws.join(channel_id)
    out: dict[str, Any] = {"channel": channel.as_api()}
    if already:
        out["warning"] = "already_in_channel"
    return out


def conversations_open(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """conversations.open (one user: the bot's DM with them)."""
    users = params.get("users")
    if isinstance(users, list):
        users = ",".join(users)
    if not users and params.get("channel"):
        return {"channel": ws.visible(str(params["channel"])).as_api()}
    channel = ws.open_dm(str(users or ""))
    return {"channel": {"id": channel.id}}


def conversations_info(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """conversations.info."""
    return {"channel": ws.visible(_required(params, "channel")).as_api()}


def conversations_history(
    ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path
) -> dict[str, Any]:
    """conversations.history (newest first, as Slack answers)."""
    channel = _required(params, "channel")
    ws.visible(channel)
    return {"messages": [m.as_api() for m in reversed(ws.messages(channel))], "has_more": False}


def conversations_replies(
    ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path
) -> dict[str, Any]:
    """conversations.replies (parent first)."""
    channel = _required(params, "channel")
    ws.visible(channel)
    thread = ws.thread(channel, _required(params, "ts"))
    if not thread:
        raise ApiError("thread_not_found")
    return {"messages": [m.as_api() for m in thread], "has_more": False}


def users_info(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """users.info (any U…/W… id exists)."""
    user = _required(params, "user")
    if user[0] not in "UW":
        raise ApiError("user_not_found")
    name = ws.user_name(user)
    return {
        "user": {
            "id": user,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name,
            "is_bot": user == BOT_USER,
            "tz": "UTC",
            "profile": {"display_name": name, "real_name": name},
        }
    }


def files_get_upload_url(
    ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path
) -> dict[str, Any]:
    """files.getUploadURLExternal: a place to POST the bytes to."""
    filename = _required(params, "filename")
    try:
        length = int(_required(params, "length"))
    except ValueError:
        raise ApiError("invalid_arguments") from None
    if length <= 0:
        raise ApiError("invalid_length")
    file_id = ws.new_id("F")
    path = upload_dir / f"{file_id}-{Path(filename).name}"
    ws.pending_files[file_id] = FileRecord(id=file_id, name=filename, path=path, size=-1, length=length)
    return {"upload_url": f"{base}upload/v1/{file_id}", "file_id": file_id}


def files_complete_upload(
    ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path
) -> dict[str, Any]:
    """files.completeUploadExternal: share uploaded files, optionally into a thread."""
    raw = params.get("files")
    try:
        files = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise ApiError("invalid_arguments") from None
    if not isinstance(files, list) or not files:
        raise ApiError("invalid_arguments")
    channel = params.get("channel_id") or None
    thread_ts = params.get("thread_ts") or None
    comment = params.get("initial_comment") or None
    done = []
    for entry in files:
        record = ws.share_file(str(entry.get("id")), channel, thread_ts, comment)
        record.title = entry.get("title") or record.name
        done.append(record.as_api())
    return {"files": done}


def files_info(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """files.info."""
    file_id = _required(params, "file")
    for record in ws.files:
        if record.id == file_id:
            return {"file": record.as_api()}
    raise ApiError("file_not_found")


def views_open(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """views.open."""
    _required(params, "trigger_id")
    return _store_view(ws, ws.new_id("V"), params)


def views_update(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """views.update (by view_id or external_id)."""
    view_id = params.get("view_id")
    if not view_id:
        external = params.get("external_id")
        view_id = next(
            (k for k, v in ws.views.items() if external and v.get("external_id") == external), None
        )
    if not view_id or view_id not in ws.views:
        raise ApiError("not_found")
    return _store_view(ws, str(view_id), params)


def views_publish(ws: Workspace, params: dict[str, Any], base: str, upload_dir: Path) -> dict[str, Any]:
    """views.publish (App Home)."""
    user = _required(params, "user_id")
    answer = _store_view(ws, ws.new_id("V"), params)
    ws.home_views[user] = answer["view"]
    return answer


def _store_view(ws: Workspace, view_id: str, params: dict[str, Any]) -> dict[str, Any]:
    view = params.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            raise ApiError("invalid_arguments") from None
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments")
    stored = dict(view) | {"id": view_id}
    ws.views[view_id] = stored
    return {"view": stored}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "conversations.join": conversations_join,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "users.info": users_info,
    "files.getUploadURLExternal": files_get_upload_url,
    "files.completeUploadExternal": files_complete_upload,
    "files.info": files_info,
    "views.open": views_open,
    "views.update": views_update,
    "views.publish": views_publish,
}

# The bot scope each method needs, from its page's "Required scopes" (https://api.slack.com/methods/<name>);
# a token without it gets `missing_scope`, as from Slack.
SCOPE_NEEDED: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.join": "channels:join",
    "conversations.open": "im:write",
    "users.info": "users:read",
    # Of its four scopes (one per kind of conversation) the public channels' one, as the bot asks names of.
    "conversations.info": "channels:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
}
