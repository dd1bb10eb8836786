"""Drive a JMAP server with the unmodified jmapc library and print what it saw, as JSON lines.

jmapc is GPL-3.0-only, so it is never a dependency of Switchboard: this script runs as a
subprocess under its own throwaway virtualenv (see docs/jmap-clients.md)::

    python3 -m venv tests/jmap_clients/.venv-jmapc
    tests/jmap_clients/.venv-jmapc/bin/pip install -r tests/jmap_clients/requirements-jmapc.txt
    tests/jmap_clients/.venv-jmapc/bin/python tests/jmap_clients/jmapc_driver.py \\
        --host 127.0.0.1:8443 --user alice --password secret --ca-file cert.pem

jmapc always fetches ``https://HOST/.well-known/jmap``, so ``--host`` is ``host[:port]`` and
the server must speak TLS; ``--ca-file`` makes requests (and jmapc's SSE client) trust a test
certificate.

Steps (``--steps``, comma-separated, run in order, sharing what they learn):

- ``session``: the Session as jmapc parsed it, and the account id jmapc chose.
- ``mailboxes``: Mailbox/get with ``ids`` null (jmapc leaves the member out).
- ``query``: Email/query (newest first, in ``--mailbox`` or the inbox) and Email/get through a
  ``#ids`` result reference to ``/ids``, then Thread/get through ``/list/*/threadId``.
- ``wait``: print ``{"step": "wait"}`` and block until a line arrives on stdin, so a test can
  APPEND a message between two steps.
- ``changes``: Email/changes since the state the ``query`` step saw (or ``--since-state``),
  and Email/get of ``/created`` through a result reference.
- ``flag``: Email/set ``keywords/$flagged`` true on the newest email (or ``--email-id``), then
  Email/get keywords.
- ``events``: the EventSource stream: print ``{"step": "events", "status": "connecting"}``,
  then each ``state`` event until ``--events`` of them arrived. jmapc connects lazily, so
  a test cannot see when the stream is open; a server that sends the current state on
  connect (as Switchboard's will) gives it that signal: wait for the first event, APPEND,
  wait for the second (``--events 2``).

Each step prints one ``{"step", "ok", ...}`` line (``events`` prints one per event). The
whole run is bounded by ``--timeout`` seconds. Exit status: 0 when every step succeeded, 1
when one failed (the run stops there), 2 on a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from types import FrameType
from typing import Any

from jmapc import (
    Client,
    Comparator,
    EmailQueryFilterCondition,
    EventSourceConfig,
    Ref,
)
from jmapc.methods import (
    EmailChanges,
    EmailGet,
    EmailQuery,
    EmailSet,
    MailboxGet,
    ThreadGet,
)

STEPS = ("session", "mailboxes", "query", "changes", "flag", "events")
EMAIL_PROPERTIES = ["id", "threadId", "mailboxIds", "keywords", "subject", "from", "receivedAt",
                    "size", "preview"]  # fmt: skip


class TimeoutReachedError(Exception):
    pass


def emit(step: str, ok: bool, **fields: Any) -> None:
    print(json.dumps({"step": step, "ok": ok, **fields}, default=str), flush=True)


def dump(value: Any) -> Any:
    """A jmapc model (or list of them) as plain JSON-able data."""
    if isinstance(value, list):
        return [dump(item) for item in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def invocation(result: Any) -> dict[str, Any]:
    """One InvocationResponseOrError: its call id, and the response or error."""
    response = result.response
    return {"id": result.id, "type": type(response).__name__, "response": dump(response)}


def make_client(args: argparse.Namespace) -> Client:
    config = EventSourceConfig(types=args.event_types, closeafter="no", ping=args.ping)
    if args.token:
        return Client.create_with_api_token(args.host, args.token, event_source_config=config)
    return Client.create_with_password(
        args.host, args.user, args.password, event_source_config=config
    )


class Run:
    def __init__(self, client: Client, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.email_state: str | None = args.since_state
        self.email_ids: list[str] = []
        self.mailbox_id: str | None = args.mailbox

    def session(self) -> dict[str, Any]:
        session = self.client.jmap_session
        return {"session": session.to_dict(), "accountId": self.client.account_id}

    def mailboxes(self) -> dict[str, Any]:
        response = self.client.request(MailboxGet(ids=None))
        data = dump(response)
        if self.mailbox_id is None:
            for mailbox in getattr(response, "data", []) or []:
                if mailbox.role == "inbox" or (mailbox.name or "").upper() == "INBOX":
                    self.mailbox_id = mailbox.id
        return {"response": data, "inbox": self.mailbox_id}

    def query(self) -> dict[str, Any]:
        condition = None
        if self.mailbox_id:
            condition = EmailQueryFilterCondition(in_mailbox=self.mailbox_id)
        results = self.client.request(
            [
                EmailQuery(
                    filter=condition,
                    sort=[Comparator(property="receivedAt", is_ascending=False)],
                    limit=self.args.limit,
                    calculate_total=True,
                ),
                EmailGet(ids=Ref("/ids"), properties=EMAIL_PROPERTIES),
                ThreadGet(ids=Ref("/list/*/threadId")),
            ]
        )
        out = [invocation(result) for result in results]
        emails = results[1].response
        self.email_state = getattr(emails, "state", None) or self.email_state
        self.email_ids = [email.id for email in getattr(emails, "data", []) or []]
        return {"responses": out, "emailState": self.email_state}

    def wait(self) -> dict[str, Any]:
        line = sys.stdin.readline()
        return {"received": line.strip()}

    def changes(self) -> dict[str, Any]:
        if self.email_state is None:
            raise RuntimeError("no Email state: run the query step first or pass --since-state")
        results = self.client.request(
            [
                EmailChanges(since_state=self.email_state),
                EmailGet(ids=Ref("/created"), properties=EMAIL_PROPERTIES),
            ]
        )
        return {"since": self.email_state, "responses": [invocation(r) for r in results]}

    def flag(self) -> dict[str, Any]:
        if not (self.args.email_id or self.email_ids):
            raise RuntimeError("no email to flag: run the query step first or pass --email-id")
        email_id = self.args.email_id or self.email_ids[0]
        results = self.client.request(
            [
                EmailSet(update={email_id: {"keywords/$flagged": True}}),
                EmailGet(ids=[email_id], properties=["id", "keywords"]),
            ]
        )
        return {"emailId": email_id, "responses": [invocation(r) for r in results]}

    def events(self) -> dict[str, Any]:
        emit("events", True, status="connecting")
        count = 0
        for event in self.client.events:
            count += 1
            emit("event", True, id=event.id, data=dump(event.data))
            if count >= self.args.events:
                break
        return {"received": count}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="host[:port]; jmapc adds https://")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--token", help="a bearer token instead of --user/--password")
    parser.add_argument("--ca-file", help="PEM bundle to trust (REQUESTS_CA_BUNDLE)")
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--mailbox", help="mailbox id for the query step (default: the inbox)")
    parser.add_argument("--since-state", help="Email state for the changes step")
    parser.add_argument("--email-id", help="the email the flag step flags (default: the newest)")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--events", type=int, default=1, help="state events to wait for")
    parser.add_argument("--event-types", default="*")
    parser.add_argument("--ping", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run")
    args = parser.parse_args(argv)
    if not args.token and not (args.user and args.password):
        parser.error("give --token, or --user and --password")
    unknown = set(args.steps.split(",")) - {*STEPS, "wait"}
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    return args


def on_alarm(signum: int, frame: FrameType | None) -> None:
    raise TimeoutReachedError


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.ca_file:
        os.environ["REQUESTS_CA_BUNDLE"] = args.ca_file
    # jmapc's requests calls have a 30 s timeout, but its SSE stream has none: one alarm
    # bounds the whole run so a silent server cannot hang the test that runs us.
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    run = Run(make_client(args), args)
    step = "start"
    try:
        for step in args.steps.split(","):
            emit(step, True, **getattr(run, step)())
    except TimeoutReachedError:
        emit(step, False, error=f"timed out after {args.timeout} s")
        return 2
    except Exception as exc:  # report any failure of the library or the server as a step result
        emit(step, False, error=f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
