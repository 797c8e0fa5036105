"""Parsing `/video-admin` (and `videobot admin`) text into typed admin commands; pure, never raises.

`budget <@user> <usd> | budget default <usd> | cap <usd> | cap off | usage [<@user>] | freeze <@user> |
unfreeze <@user> | export | block add|remove <term> | block list | audit | help`. Amounts follow the one
grammar of `bot.money.parse_usd`; users are mentions or bare ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands import ParseError, clean_text, unslack
from bot.money import parse_usd
from bot.policy import MAX_TERM_CHARS, normalize
from bot.ui.words import admin as admin_words
from storage.errors import MoneyError

_ADMIN_TOKEN = re.compile(r"<[^<>]*>|\S+")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>$")
_BARE_ID = re.compile(r"^@?([UW](?=[A-Z]*[0-9])[A-Z0-9]{2,})$")


@dataclass(frozen=True)
class AdminHelp:
    """`help`, or no text at all."""


@dataclass(frozen=True)
class SetUserBudget:
    """`budget <@user> <usd>`: the user's budget per period."""

    user_id: str
    micros: int


@dataclass(frozen=True)
class SetDefaultBudget:
    """`budget default <usd>`: the budget of everyone without one of their own."""

    micros: int


@dataclass(frozen=True)
class SetCap:
    """`cap <usd>` or `cap off` (micros None)."""

    micros: int | None


@dataclass(frozen=True)
class ShowUsage:
    """`usage` (everyone, user_id None) or `usage <@user>`."""

    user_id: str | None


@dataclass(frozen=True)
class SetFrozen:
    """`freeze <@user>` (frozen True) or `unfreeze <@user>`."""

    user_id: str
    frozen: bool


@dataclass(frozen=True)
class Export:
    """`export`: this period's ledger as CSV."""


@dataclass(frozen=True)
class SetBlocked:
    """`block add <term>` (blocked True) or `block remove <term>`; the term is normalized."""

    term: str
    blocked: bool


@dataclass(frozen=True)
class ListBlocked:
    """`block list`: the workspace's blocked terms."""


@dataclass(frozen=True)
class ShowAudit:
    """`audit`: the last 20 admin actions."""


AdminCommand = (
    AdminHelp
    | SetUserBudget
    | SetDefaultBudget
    | SetCap
    | ShowUsage
    | SetFrozen
    | Export
    | SetBlocked
    | ListBlocked
    | ShowAudit
)


def parse_user(token: str) -> str | None:
    """A Slack user ID from `<@U123|name>`, `<@U123>` or a bare `U0123ABCD`; None otherwise."""
    match = _MENTION.match(token) or _BARE_ID.match(token.upper())
    return match.group(1) if match else None


def _amount(verb: str, token: str) -> int | ParseError:
    try:
        return parse_usd(unslack(token))
    except MoneyError as exc:
        return ParseError(admin_words.err_admin(verb, str(exc)))


def _user(verb: str, token: str) -> str | ParseError:
    user = parse_user(token)
    if user is None:
        return ParseError(admin_words.err_admin_user(verb, token))
    return user


def _budget(args: list[str]) -> AdminCommand | ParseError:
    if len(args) < 2:
        return ParseError(admin_words.err_admin_arity("budget"))
    micros = _amount("budget", " ".join(args[1:]))  # `5 USD` is two words
    if isinstance(micros, ParseError):
        return micros
    if args[0].lower() == "default":
        return SetDefaultBudget(micros=micros)
    user = _user("budget", args[0])
    return user if isinstance(user, ParseError) else SetUserBudget(user_id=user, micros=micros)


def _cap(args: list[str]) -> AdminCommand | ParseError:
    if not args:
        return ParseError(admin_words.err_admin_arity("cap"))
    if len(args) == 1 and args[0].lower() in ("off", "none"):
        return SetCap(micros=None)
    micros = _amount("cap", " ".join(args))
    return micros if isinstance(micros, ParseError) else SetCap(micros=micros)


def _one_user(verb: str, args: list[str]) -> str | ParseError:
    if len(args) != 1:
        return ParseError(admin_words.err_admin_arity(verb))
    return _user(verb, args[0])


def _block(args: list[str]) -> AdminCommand | ParseError:
    sub = args[0].lower() if args else ""
    if sub == "list" and len(args) == 1:
        return ListBlocked()
    if sub not in ("add", "remove") or len(args) < 2:
        return ParseError(admin_words.err_admin_arity("block"))
    typed = unslack(" ".join(args[1:]))
    term = normalize(typed)
    if not term:
        return ParseError(admin_words.err_block_term_empty())
    if len(term) > MAX_TERM_CHARS:
        return ParseError(admin_words.err_block_term_long(MAX_TERM_CHARS))
    return SetBlocked(term=term, blocked=sub == "add")


def parse_admin(text: str) -> AdminCommand | ParseError:
    """Read the text after `/video-admin` (or `videobot admin`); never raises."""
    tokens = _ADMIN_TOKEN.findall(clean_text(text))
    if not tokens:
        return AdminHelp()
    verb, args = tokens[0].lower(), tokens[1:]
    if verb == "budget":
        return _budget(args)
    if verb == "cap":
        return _cap(args)
    if verb == "usage" and len(args) <= 1:
        user = _user(verb, args[0]) if args else None
        return user if isinstance(user, ParseError) else ShowUsage(user_id=user)
    if verb in ("freeze", "unfreeze"):
        user = _one_user(verb, args)
        return user if isinstance(user, ParseError) else SetFrozen(user_id=user, frozen=verb == "freeze")
    if verb == "block":
        return _block(args)
    if verb in ("help", "export", "usage", "audit"):
        if args:
            return ParseError(admin_words.err_admin_arity(verb))
        if verb == "audit":
            return ShowAudit()
        return AdminHelp() if verb == "help" else Export()
    return ParseError(admin_words.err_admin_unknown(tokens[0]))
