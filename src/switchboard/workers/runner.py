"""Run a worker: connect, watch, build each ``NewMail``, call the handler, ack, persist, resume.

Every ready-made worker (and yours) is a handler plus this loop::

    async def handle(mail: NewMail) -> None:
        print(mail.account, mail.subject, mail.sender)

    asyncio.run(run_worker(handle, url="ws://127.0.0.1:8080/workers",
                           state_file=Path("worker.state"), properties=("subject", "from")))

Each new message reaches the handler as one :class:`~switchboard.workers.mail.NewMail`, built
here from the client's typed push. The runner subscribes with ``"summary": true``, so a push
carries the subject, first sender, date and size; ``properties`` names what the handler reads
(``getMessages`` property names), and ``getMessages`` is asked only for those the summary does
not hold — never when it holds them all (an SMS's sender and subject), and for the raw source,
the recipients or a preview when the handler needs them.

What it guarantees (docs/reliability.md): an event is acknowledged only after ``handler``
returned without raising, and then — for a plain (non-group) worker — the new position is written
to ``state_file`` atomically (write a temporary file, fsync, rename). A worker killed at any point
restarts from the persisted position, so no event is lost; an event whose handler ran but whose
position was not yet written is delivered again (at-least-once; ``mail.event_id`` is the key to
deduplicate by). A lost connection is opened again with backoff and the watches resume after the
position (or rejoin the group, whose position the server keeps).

A handler that raises leaves its event unacknowledged: a group member's event goes to another
member after the visibility timeout; a plain worker's position stays below it, so the next start
delivers it again. A ``getMessages`` failure is treated the same way.

``python -m switchboard.workers.runner`` prints each event as one JSON line (a handy probe and
the worker the fault tests kill).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from switchboard.client.aio import AsyncClient, Push
from switchboard.client.errors import CommandError, ConnectionClosed, ResponseTimeout
from switchboard.client.resume import Backoff
from switchboard.protocol.replies import SUMMARY_PROPERTIES, NewMessagePush, message_items
from switchboard.protocol.wirejson import JsonObject
from switchboard.workers.mail import NewMail

__all__ = [
    "DEFAULT_URL",
    "Handler",
    "add_common_options",
    "main",
    "properties_to_fetch",
    "read_state",
    "run_worker",
    "worker_options",
    "write_state",
]

logger = logging.getLogger("switchboard.workers.runner")

DEFAULT_URL: Final = "ws://127.0.0.1:8080/workers"

MAX_STATE_FILE_BYTES: Final = 4096
"""A state file holds one small JSON object; anything larger is not ours."""

Handler = Callable[[NewMail], Awaitable[None]]
"""What the runner calls with each new message; returning acknowledges it, raising does not."""

# Errors that mean the server is not reachable yet; the first connection is retried on them.
_UNREACHABLE = (OSError, TimeoutError)


def read_state(path: Path) -> int | None:
    """Read the last processed event id from a state file; ``None`` if there is none yet.

    Raises:
        ValueError: the file exists but does not hold ``{"lastEventId": <int or null>}``.
    """
    try:
        with path.open("rb") as f:
            data = f.read(MAX_STATE_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    if len(data) > MAX_STATE_FILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_STATE_FILE_BYTES} bytes, not a state file")
    try:
        value = json.loads(data).get("lastEventId")
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: not a worker state file: {exc}") from None
    if value is not None and type(value) is not int:
        raise ValueError(f"{path}: lastEventId is not an integer: {value!r}")
    return value


def write_state(path: Path, last_event_id: int | None) -> None:
    """Replace the state file atomically: a crash leaves the old or the new file, never half.

    Raises:
        OSError: the directory is not writable.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w") as f:
            json.dump({"lastEventId": last_event_id}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def run_worker(
    handler: Handler,
    *,
    url: str = DEFAULT_URL,
    token: str | None = None,
    group: str | None = None,
    state_file: Path | None = None,
    accounts: Sequence[Mapping[str, Any]] = (),
    mailboxes: Sequence[str] = ("INBOX",),
    properties: Collection[str] = (),
    concurrency: int = 1,
    reconnect: bool = True,
    backoff: Backoff | None = None,
    timeout_s: float = 30.0,
    ready: asyncio.Event | None = None,
) -> None:
    """Process new mail with ``handler`` until cancelled (or, without reconnect, disconnected).

    Args:
        handler: called once per event; returning acknowledges it, raising does not.
        url: the server's ``/workers`` URL.
        token: auth token for the server.
        group: join this consumer group (each event goes to one member of it).
        state_file: where a plain worker persists its position; read at start.
        accounts: ``connect`` argument objects (``{"host", "port", "auth"}``) to connect and
            watch; with none, the worker watches every account (``watchAll``).
        mailboxes: the mailbox names watched on each of ``accounts``.
        properties: the ``getMessages`` properties the handler reads; those the push summary
            does not hold are fetched before the handler runs.
        concurrency: how many handlers may run at once.
        reconnect: reconnect and resume when the connection is lost.
        backoff: delays between connection attempts.
        timeout_s: limit on each command's reply.
        ready: set once the watches are in place (tests and supervisors wait on it).

    Raises:
        ValueError: the state file is not one of ours, or ``concurrency`` < 1.
        CommandError: the server refused a ``connect`` or a watch (or cannot resume).
        websockets.exceptions.InvalidHandshake: the server refused the connection (bad token).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    since = read_state(state_file) if state_file is not None and group is None else None
    backoff = backoff or Backoff()
    client = AsyncClient(
        url, token=token, reconnect=reconnect, since=since, backoff=backoff, timeout_s=timeout_s
    )
    attempt = 0
    while True:
        try:
            await client.open()
            break
        except _UNREACHABLE as exc:
            if not reconnect:
                raise
            logger.info("server %s not reachable yet: %s", url, exc)
            await asyncio.sleep(backoff.delay_s(attempt, random.random))
            attempt += 1
    try:
        for connect_args in accounts:
            await client.call("connect", dict(connect_args))
        if accounts:
            for connect_args in accounts:
                await client.watch_mailboxes(_login(connect_args), mailboxes, group=group,
                                             summary=True)
        else:
            await client.watch_all(group=group, summary=True)
        if ready is not None:
            ready.set()
        await _consume(client, handler, state_file if group is None else None,
                       tuple(dict.fromkeys(properties)), concurrency)
    finally:
        await client.close()


def properties_to_fetch(push: NewMessagePush, properties: Collection[str]) -> list[str]:
    """The ``getMessages`` properties to ask for ``push``: those its summary does not hold.

    Without a summary (an old server, or a subscriber that did not ask) that is all of them;
    with one, nothing when it holds them all.
    """
    if push.summary is None:
        return list(properties)
    return [name for name in properties if name not in SUMMARY_PROPERTIES]


async def _consume(
    client: AsyncClient,
    handler: Handler,
    state_file: Path | None,
    properties: Collection[str],
    concurrency: int,
) -> None:
    slots = asyncio.Semaphore(concurrency)
    persist_lock = asyncio.Lock()

    async def process(push: NewMessagePush) -> None:
        try:
            mail = await _new_mail(client, push, properties)
            if mail is None:
                return
            await handler(mail)
        except (ConnectionClosed, ResponseTimeout, CommandError) as exc:
            logger.warning("event %s not processed, will come again: %s", push.event_id, exc)
            return
        except Exception:
            logger.exception("handler failed on event %s; not acknowledged", push.event_id)
            return
        finally:
            slots.release()
        if push.event_id is None:
            return
        before = client.last_event_id
        try:
            await client.ack(push.event_id)
        except (ConnectionClosed, ResponseTimeout) as exc:
            logger.info("ack of %s not confirmed: %s", push.event_id, exc)
        if state_file is not None and client.last_event_id != before:
            async with persist_lock:
                await asyncio.to_thread(write_state, state_file, client.last_event_id)

    async with asyncio.TaskGroup() as tasks:
        async for push in client.events(auto_ack=False):
            new = _new_message(push)
            if new is None:
                continue
            await slots.acquire()
            if concurrency == 1:
                await process(new)  # in order, and no task per event
            else:
                tasks.create_task(process(new))


def _new_message(push: Push) -> NewMessagePush | None:
    if push.name == "newMessage" and push.new_message is None:
        logger.warning("ignored a newMessage push without a messageId: %.200r", push.args)
    return push.new_message


async def _new_mail(
    client: AsyncClient, push: NewMessagePush, properties: Collection[str]
) -> NewMail | None:
    """The one :class:`NewMail` of ``push``, with what ``getMessages`` had to add."""
    wanted = properties_to_fetch(push, properties)
    if not wanted:
        return NewMail.of(push)
    request: JsonObject = {"ids": [push.message_id], "properties": list(wanted)}
    if push.account is not None:
        request["account"] = push.account
    items = message_items(await client.call("getMessages", request))
    if not items:
        logger.warning("message %s is gone; skipping it", push.message_id)
        return None
    return NewMail.of(push, items[0])


def _login(connect_args: Mapping[str, Any]) -> str:
    auth = connect_args.get("auth")
    username = auth.get("username") if isinstance(auth, Mapping) else None
    if not isinstance(username, str):
        raise ValueError("an account's connect args need auth.username")
    return username


# -- command line -----------------------------------------------------------------------------


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every worker shares; read them back with :func:`worker_options`.

    Secrets come from files or environment variables (``SWITCHBOARD_TOKEN``,
    ``SWITCHBOARD_IMAP_PASSWORD``) so they need not appear on the command line.
    """
    group = parser.add_argument_group("switchboard")
    group.add_argument("--url", default=os.environ.get("SWITCHBOARD_URL", DEFAULT_URL),
                       help=f"the server's /workers URL (default {DEFAULT_URL})")
    group.add_argument("--token", help="auth token (better: --token-file or SWITCHBOARD_TOKEN)")
    group.add_argument("--token-file", type=Path, help="file holding the auth token")
    group.add_argument("--group", help="join this consumer group (one member gets each event)")
    group.add_argument("--state-file", type=Path,
                       help="persist the last processed event id here and resume from it")
    group.add_argument("--host", help="IMAP host of an account to connect (implicit TLS)")
    group.add_argument("--port", type=int, default=993, help="IMAP port (default 993)")
    group.add_argument("--user", "--account", dest="user", help="IMAP login name (the account)")
    group.add_argument("--password", help="IMAP password (better: --password-file or "
                       "SWITCHBOARD_IMAP_PASSWORD)")
    group.add_argument("--password-file", type=Path, help="file holding the IMAP password")
    group.add_argument("--mailbox", action="append", dest="mailboxes",
                       help="mailbox to watch (repeatable; default INBOX)")


def worker_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`run_worker` keyword arguments the common options stand for.

    Raises:
        ValueError: ``--host`` without ``--user``, or no password anywhere for it.
        OSError: a token or password file cannot be read.
    """
    token = args.token
    if args.token_file is not None:
        token = args.token_file.read_text().strip()
    token = token or os.environ.get("SWITCHBOARD_TOKEN") or None
    accounts: list[dict[str, Any]] = []
    if args.host:
        password = args.password
        if args.password_file is not None:
            password = args.password_file.read_text().rstrip("\r\n")
        password = password or os.environ.get("SWITCHBOARD_IMAP_PASSWORD")
        if not args.user or not password:
            raise ValueError("--host needs --user and a password (--password-file, "
                             "SWITCHBOARD_IMAP_PASSWORD or --password)")
        auth = {"type": "plain", "username": args.user, "password": password}
        accounts.append({"host": args.host, "port": args.port, "auth": auth})
    return {
        "url": args.url,
        "token": token,
        "group": args.group,
        "state_file": args.state_file,
        "accounts": accounts,
        "mailboxes": tuple(args.mailboxes or ("INBOX",)),
    }


async def _print_event(mail: NewMail) -> None:
    line: dict[str, Any] = {
        "eventId": mail.event_id, "account": mail.account, "messageId": mail.message_id
    }
    if mail.summary is not None:
        line["summary"] = mail.summary.to_json()
    if mail.properties:
        line["message"] = dict(mail.properties)
    print(json.dumps(line, ensure_ascii=False), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Print each new message as one JSON line; the exit status is 0 on SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m switchboard.workers.runner",
        description="Print every new message as a JSON line (a probe worker).",
    )
    add_common_options(parser)
    parser.add_argument("--fetch", action="append", metavar="PROPERTY", default=[],
                        help="getMessages property to print (repeatable); fetched unless the "
                             "push summary holds it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        options = worker_options(args)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    try:
        asyncio.run(run_worker(_print_event, properties=args.fetch, **options))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
