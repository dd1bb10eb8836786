"""``switchboard tokens create|list|revoke``: manage the server's auth tokens in its data dir.

The commands open the server's SQLite store directly, so they work while the server runs
(WAL mode; the server looks tokens up on every upgrade, so a new or revoked token takes effect
at the next connection). ``create`` prints the token once: only its SHA-256 digest is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from switchboard.errors import SwitchboardError
from switchboard.model.store import Store, StoredToken, TokenScope
from switchboard.server.config import ENV_PREFIX, default_data_dir
from switchboard.server.tokens import create_token
from switchboard.store.crypto import SecretBox, load_or_create_key
from switchboard.store.sqlite import SqliteStore

__all__ = ["add_tokens_command"]


class TokenCommandError(SwitchboardError):
    """A tokens command cannot do what it was asked (unknown token, duplicate name)."""


def _data_dir_option() -> argparse.ArgumentParser:
    """A parent parser with ``--data-dir``, for the ``tokens`` level and each action.

    ``tokens --data-dir X create`` and ``tokens create --data-dir X`` both work. The default is
    SUPPRESS so that an absent copy does not overwrite what the other level parsed; each parser
    gets a parent of its own, as argparse shares a parent's actions (and their defaults).
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="the server's data directory (default: $SWITCHBOARD_DATA_DIR or the per-user one)",
    )
    return parent


def add_tokens_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``tokens`` and its subcommands on the ``switchboard`` command's subparsers."""
    tokens = subparsers.add_parser(
        "tokens",
        parents=[_data_dir_option()],
        help="create, list and revoke auth tokens",
        description="Manage auth tokens in the server's data directory (works while it runs).",
    )
    commands = tokens.add_subparsers(title="commands", metavar="COMMAND")
    create = commands.add_parser(
        "create", parents=[_data_dir_option()], help="create a token and print it once"
    )
    create.add_argument("--scope", choices=[s.value for s in TokenScope], required=True)
    create.add_argument("--account", help="bind a client token to this account (username)")
    create.add_argument("--name", help="a unique name to list and revoke it by")
    create.set_defaults(func=_create)
    listing = commands.add_parser(
        "list", parents=[_data_dir_option()], help="list tokens (never the tokens themselves)"
    )
    listing.set_defaults(func=_list)
    revoke = commands.add_parser(
        "revoke", parents=[_data_dir_option()], help="revoke a token by id or name"
    )
    revoke.add_argument("token", help="the token's id (tok_…) or name")
    revoke.set_defaults(func=_revoke)
    tokens.set_defaults(func=lambda args: tokens.print_help() or 2)
    assert isinstance(tokens, argparse.ArgumentParser)
    return tokens


def _data_dir(args: argparse.Namespace) -> Path:
    given = getattr(args, "data_dir", None)
    if given is not None:
        return Path(given).expanduser()
    env = os.environ.get(ENV_PREFIX + "DATA_DIR")
    return Path(env).expanduser() if env else default_data_dir()


def _with_store(args: argparse.Namespace, action: Callable[[Store], Awaitable[int]]) -> int:
    data_dir = _data_dir(args)

    async def run() -> int:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = load_or_create_key(data_dir, os.environ.get(ENV_PREFIX + "SECRET_KEY"))
        store = await SqliteStore.open(data_dir / "switchboard.db", SecretBox(key))
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _create(args: argparse.Namespace) -> int:
    scope = TokenScope(args.scope)

    async def action(store: Store) -> int:
        try:
            token, record = await create_token(store, scope, name=args.name, account=args.account)
        except ValueError as exc:
            raise TokenCommandError(str(exc)) from None
        print(token)
        print(
            f"created {record.scope} token {record.token_id} ({record.name}); it is shown only "
            "once, store it now",
            file=sys.stderr,
        )
        return 0

    return _with_store(args, action)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(token: StoredToken) -> str:
    state = "active" if token.revoked_at is None else f"revoked {_when(token.revoked_at)}"
    return "\t".join(
        [token.token_id, token.name, token.scope.value, token.account or "-",
         _when(token.created_at), state]
    )  # fmt: skip


def _list(args: argparse.Namespace) -> int:
    async def action(store: Store) -> int:
        print("id\tname\tscope\taccount\tcreated\tstate")
        for token in await store.list_tokens():
            print(_describe(token))
        return 0

    return _with_store(args, action)


def _revoke(args: argparse.Namespace) -> int:
    async def action(store: Store) -> int:
        token = await store.revoke_token(args.token)
        if token is None:
            raise TokenCommandError(f"no token with id or name {args.token!r}")
        print(f"revoked {token.token_id} ({token.name})")
        return 0

    return _with_store(args, action)
