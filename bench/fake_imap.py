"""A fast in-memory IMAP server for load and memory benchmarks, where Dovecot cannot scale.

Any username logs in with one fixed password; each user has one INBOX held in memory whose
messages are generated from (user, uid), so a mailbox costs a counter, not its mail. It speaks
just enough IMAP4rev1 for a watcher: CAPABILITY, LOGIN, AUTHENTICATE PLAIN, SELECT/EXAMINE, LIST,
STATUS, (UID) SEARCH, (UID) FETCH, IDLE/DONE, NOOP, LOGOUT. New mail arrives through
:meth:`FakeImapServer.inject`, which pushes ``* n EXISTS`` to IDLE sessions at once.

Control it in-process (``FakeImapServer``) or over a tiny line protocol on ``--control-port``:
``inject USER [COUNT]``, ``drop``, ``silent on|off``, ``sessions``, ``idling`` (sessions in IDLE
now), ``traffic`` (IMAP bytes received and sent before TLS, and DONEs received, since the
start); each answers ``OK ...`` or ``ERR ...``.

Run: ``python bench/fake_imap.py --port 1143 --tls-port 1993 --control-port 1144`` (0 = any
free port); it prints ``READY port=... tls_port=... control_port=... cert=...``.

Memory: a session is one asyncio Protocol with slots and a line buffer that exists only while a
command is incomplete. With the stock asyncio TLS layer every TLS session also carries a 256 KiB
read buffer; uvloop (used when installed) allocates it lazily, so prefer it for TLS benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import enum
import functools
import ipaddress
import re
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from switchboard.cli.loop import run_async, run_until_signalled

__all__ = ["FakeImapServer"]

MAX_LINE_BYTES = 64 * 1024
MAX_LITERAL_BYTES = 64 * 1024
CAPABILITIES = "IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS AUTH=PLAIN"
DATE = "Mon, 01 Jan 2024 00:00:00 +0000"
INTERNALDATE = '"01-Jan-2024 00:00:00 +0000"'
_PARTIAL = re.compile(r"\]<([0-9]+)\.([0-9]+)>$")
_NO_MESSAGE: tuple[int, int, bytes] = (0, -1, b"")
_LITERAL = re.compile(rb"\{(\d+)(\+?)\}$")


class State(enum.Enum):
    """IMAP connection states (RFC 3501 §3), plus IDLE (RFC 2177)."""

    NOT_AUTHENTICATED = 1
    AUTHENTICATED = 2
    SELECTED = 3
    IDLE = 4
    AUTH_CONTINUE = 5  # AUTHENTICATE PLAIN waiting for the client's response line
    LOGOUT = 6


@dataclass(slots=True)
class Mailbox:
    """One user's INBOX: UIDs 1..count, nothing else is stored."""

    uidvalidity: int
    count: int = 0


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _message(user: str, uid: int, pad_bytes: int) -> bytes:
    body = f"This is message {uid} for {user}.\r\n" + ("x" * 76 + "\r\n") * (pad_bytes // 78)
    return (f"Date: {DATE}\r\nFrom: Sender <sender@example.com>\r\nTo: <{user}>\r\n"
            f"Subject: Message {uid}\r\nMessage-ID: <{uid}.{user}@fake.example>\r\n\r\n"
            f"{body}").encode()


def _envelope(user: str, uid: int) -> str:
    local, _, domain = user.partition("@")
    sender = '(("Sender" NIL "sender" "example.com"))'
    to = f"((NIL NIL {_quote(local)} {_quote(domain or 'example.com')}))"
    return (f"({_quote(DATE)} {_quote(f'Message {uid}')} {sender} {sender} {sender} {to} NIL NIL"
            f" NIL {_quote(f'<{uid}.{user}@fake.example>')})")


@functools.lru_cache(maxsize=64)
def _field_names(section: str) -> frozenset[bytes]:
    return frozenset(n.encode().lower() for n in section[section.find("(") + 1 : -1].split())


def _header_fields(head: bytes, section: str) -> bytes:
    """``BODY[HEADER.FIELDS (A B)]``: the header lines named (RFC 3501 §6.4.5), then CRLF.

    The fake's messages fold no header line, so a line is a field.
    """
    names = _field_names(section)
    lines = [line for line in head.split(b"\r\n") if line.partition(b":")[0].lower() in names]
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


def _tokens(line: str) -> list[str]:
    """Split a command line into atoms, quoted strings and parentheses (brackets kept whole)."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == " ":
            i += 1
        elif c in "()":
            out.append(c)
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while j < n and line[j] != '"':
                if line[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(line[j])
                j += 1
            out.append("".join(buf))
            i = j + 1
        else:
            j, depth = i, 0
            while j < n and (depth or line[j] not in " ()"):
                depth += {"[": 1, "]": -1}.get(line[j], 0)
                j += 1
            out.append(line[i:j])
            i = j
    return out


def _seq_set(spec: str, values: range) -> list[int]:
    """Resolve an IMAP sequence set (``1:*``, ``3,5:7``) against ``values`` (sorted numbers)."""
    top = values[-1] if values else 0
    chosen: set[int] = set()
    for part in spec.split(","):
        lo_s, _, hi_s = part.partition(":")
        lo = top if lo_s == "*" else int(lo_s)
        hi = lo if not hi_s else top if hi_s == "*" else int(hi_s)
        lo, hi = min(lo, hi), max(lo, hi)
        chosen.update(range(max(lo, values.start), min(hi, top) + 1))
    return sorted(chosen)


class Session(asyncio.Protocol):
    """One client connection."""

    __slots__ = ("_buf", "_last_message", "_literal", "_parts", "_tag", "known", "mailbox",
                 "readonly", "server", "state", "transport", "user")

    def __init__(self, server: FakeImapServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.state = State.NOT_AUTHENTICATED
        self.user: str | None = None
        self.mailbox: Mailbox | None = None
        self.readonly = False
        self.known = 0  # EXISTS count the client has been told
        self._tag = ""
        self._buf: bytearray | None = None
        self._parts: list[str] | None = None  # tokens of a command interrupted by literals
        self._literal = 0
        self._last_message = _NO_MESSAGE

    # -- transport callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # not isinstance-checked: uvloop's transports do not subclass asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)
        self.server._sessions.add(self)
        self.send(f"* OK [CAPABILITY {CAPABILITIES}] fake_imap ready")

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._sessions.discard(self)
        if self.user is not None:
            self.server._unwatch(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        if self.server.silent:
            return  # a dead peer: everything sent to it is lost
        self.server.bytes_in += len(data)
        buf = self._buf + data if self._buf else bytearray(data)
        while buf:
            if self._literal:
                if len(buf) < self._literal:
                    break
                assert self._parts is not None
                self._parts.append(buf[: self._literal].decode("utf-8", "surrogateescape"))
                del buf[: self._literal]
                self._literal = 0
                continue
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > MAX_LINE_BYTES:
                    self.bye("line too long")
                    return
                break
            line = bytes(buf[:end]).rstrip(b"\r")
            del buf[: end + 1]
            match = _LITERAL.search(line)
            if match is not None:
                size = int(match.group(1))
                if size > MAX_LITERAL_BYTES:
                    self.bye("literal too big")
                    return
                self._parts = (self._parts or []) + _tokens(
                    line[: match.start()].decode("utf-8", "surrogateescape"))
                self._literal = size
                if not match.group(2):
                    self.send("+ go ahead")
                if not size:
                    self._parts.append("")
                continue
            tokens = (self._parts or []) + _tokens(line.decode("utf-8", "surrogateescape"))
            self._parts = None
            self.line(tokens)
            if self.transport is None or self.state is State.LOGOUT:
                return
        self._buf = buf or None

    # -- output -------------------------------------------------------------------------------

    def send(self, text: str, raw: bytes = b"") -> None:
        if self.transport is not None and not self.server.silent:
            # Two writes, not one concatenated copy of a large response.
            head, tail = text.encode(), raw or b"\r\n"
            self.server.bytes_out += len(head) + len(tail)
            self.transport.write(head)
            self.transport.write(tail)

    def bye(self, why: str) -> None:
        self.send(f"* BYE {why}")
        self.state = State.LOGOUT
        if self.transport is not None:
            self.transport.close()

    def notify(self) -> None:
        """Tell an IDLE client about new mail now (RFC 2177)."""
        if self.state is State.IDLE and self.mailbox is not None:
            self.flush_exists()

    def flush_exists(self) -> None:
        # while silent nothing is sent, so the client still has to be told afterwards
        if self.mailbox is not None and self.mailbox.count != self.known and not self.server.silent:
            self.known = self.mailbox.count
            self.send(f"* {self.known} EXISTS")

    # -- commands -----------------------------------------------------------------------------

    def line(self, tokens: list[str]) -> None:
        if self.state is State.IDLE:
            if tokens[:1] and tokens[0].upper() == "DONE":
                self.server.dones += 1
                self.state = State.SELECTED
                self.send(f"{self._tag} OK IDLE terminated")
            else:
                self.send("* BAD expected DONE")
            return
        if self.state is State.AUTH_CONTINUE:
            self.state = State.NOT_AUTHENTICATED
            self.auth_plain(tokens[0] if tokens else "*")
            return
        if len(tokens) < 2:
            self.send(f"{tokens[0] if tokens else '*'} BAD missing command")
            return
        self._tag, name, args = tokens[0], tokens[1].upper(), tokens[2:]
        uid = name == "UID" and bool(args)
        if uid:
            name, args = args[0].upper(), args[1:]
        handler = getattr(self, f"do_{name.lower()}", None)
        if handler is None:
            self.send(f"{self._tag} BAD unknown command {name}")
            return
        needs = {"capability": None, "noop": None, "logout": None, "login": State.NOT_AUTHENTICATED,
                 "authenticate": State.NOT_AUTHENTICATED, "fetch": State.SELECTED,
                 "search": State.SELECTED, "idle": State.SELECTED}.get(name.lower(), "auth")
        if needs == "auth" and self.state not in (State.AUTHENTICATED, State.SELECTED):
            self.send(f"{self._tag} BAD log in first")
            return
        if isinstance(needs, State) and self.state is not needs:
            self.send(f"{self._tag} BAD not allowed in state {self.state.name}")
            return
        try:
            if name in ("FETCH", "SEARCH"):
                handler(args, uid)
            else:
                handler(args)
        except (IndexError, ValueError):
            self.send(f"{self._tag} BAD invalid arguments")

    def ok(self, text: str = "done") -> None:
        self.flush_exists()
        self.send(f"{self._tag} OK {text}")

    def do_capability(self, args: list[str]) -> None:
        self.send(f"* CAPABILITY {CAPABILITIES}")
        self.ok()

    def do_noop(self, args: list[str]) -> None:
        self.ok()

    def do_logout(self, args: list[str]) -> None:
        self.send("* BYE logging out")
        self.send(f"{self._tag} OK bye")
        self.state = State.LOGOUT
        if self.transport is not None:
            self.transport.close()

    def do_login(self, args: list[str]) -> None:
        self._login(args[0], args[1])

    def do_authenticate(self, args: list[str]) -> None:
        if args[0].upper() != "PLAIN":
            self.send(f"{self._tag} NO unsupported mechanism")
        elif len(args) > 1:
            self.auth_plain(args[1])  # SASL-IR (RFC 4959)
        else:
            self.state = State.AUTH_CONTINUE
            self.send("+ ")

    def auth_plain(self, response: str) -> None:
        if response == "*":
            self.send(f"{self._tag} BAD authentication cancelled")
            return
        try:
            _authz, user, password = base64.b64decode(response, validate=True).decode().split("\0")
        except ValueError:
            self.send(f"{self._tag} BAD malformed PLAIN response")
            return
        self._login(user, password)

    def _login(self, user: str, password: str) -> None:
        if password != self.server.password or not user:
            self.send(f"{self._tag} NO [AUTHENTICATIONFAILED] invalid credentials")
            return
        self.user = user
        self.state = State.AUTHENTICATED
        self.server.logins += 1
        self.send(f"{self._tag} OK [CAPABILITY {CAPABILITIES}] logged in")

    def do_select(self, args: list[str], readonly: bool = False) -> None:
        assert self.user is not None
        if self.mailbox is not None:
            self.server._unwatch(self)
            self.mailbox, self.state = None, State.AUTHENTICATED
        if args[0].upper() != "INBOX":
            self.send(f"{self._tag} NO [NONEXISTENT] no such mailbox")
            return
        box = self.server.mailbox(self.user)
        self.mailbox, self.readonly, self.known = box, readonly, box.count
        self.server._watch(self)
        self.state = State.SELECTED
        self.send(f"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* {box.count} EXISTS"
                  f"\r\n* 0 RECENT\r\n* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid\r\n"
                  f"* OK [UIDNEXT {box.count + 1}] predicted next UID\r\n"
                  "* OK [PERMANENTFLAGS ()] no permanent flags")
        self.ok("[READ-ONLY] examined" if readonly else "[READ-WRITE] selected")

    def do_examine(self, args: list[str]) -> None:
        self.do_select(args, readonly=True)

    def do_list(self, args: list[str]) -> None:
        if args[1] == "":
            self.send('* LIST (\\Noselect) "/" ""')
        elif re.fullmatch(re.escape(args[1]).replace(r"\*", ".*").replace("%", "[^/]*"),
                          "INBOX", re.IGNORECASE):
            self.send('* LIST (\\HasNoChildren) "/" INBOX')
        self.ok()

    def do_status(self, args: list[str]) -> None:
        assert self.user is not None
        if args[0].upper() != "INBOX":
            self.send(f"{self._tag} NO [NONEXISTENT] no such mailbox")
            return
        box = self.server.mailbox(self.user)
        values = {"MESSAGES": box.count, "UIDNEXT": box.count + 1,
                  "UIDVALIDITY": box.uidvalidity, "UNSEEN": box.count, "RECENT": 0}
        items = [a.upper() for a in args[1:] if a not in "()"]
        self.send(f"* STATUS INBOX ({' '.join(f'{i} {values[i]}' for i in items)})")
        self.ok()

    def do_idle(self, args: list[str]) -> None:
        self.state = State.IDLE
        self.send("+ idling")
        self.flush_exists()

    def do_search(self, args: list[str], uid: bool) -> None:
        assert self.mailbox is not None
        every = range(1, self.mailbox.count + 1)  # UID n is message n: nothing is expunged
        found = list(every)
        crit = [a.upper() for a in args if a not in "()"]
        if crit[:1] == ["CHARSET"]:
            crit = crit[2:]
        for i, c in enumerate(crit):
            if c == "UID" or (c[:1].isdigit() or c[:1] == "*"):
                spec = crit[i + 1] if c == "UID" else c
                found = [n for n in found if n in set(_seq_set(spec, every))]
                if c == "UID":
                    break
        self.send("* SEARCH" + "".join(f" {n}" for n in found))
        self.ok()

    def _message(self, n: int, pad: int) -> bytes:
        # The last one kept: a download reads a large message in many partial fetches.
        if self._last_message[:2] != (n, pad):
            assert self.user is not None
            self._last_message = (n, pad, _message(self.user, n, pad))
        return self._last_message[2]

    def do_fetch(self, args: list[str], uid: bool) -> None:
        assert self.mailbox is not None and self.user is not None
        numbers = _seq_set(args[0], range(1, self.mailbox.count + 1))
        items = [a.upper() for a in args[1:] if a not in "()"]
        items = {"ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
                 "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]}.get(items[0], items)
        if uid and "UID" not in items:
            items.insert(0, "UID")
        pad = self.server.body_pad_bytes
        for n in numbers:
            msg = self._message(n, pad)
            out: list[bytes] = []
            for item in items:
                if item == "UID":
                    out.append(b"UID %d" % n)
                elif item == "FLAGS":
                    out.append(b"FLAGS ()")
                elif item == "RFC822.SIZE":
                    out.append(b"RFC822.SIZE %d" % len(msg))
                elif item == "INTERNALDATE":
                    out.append(b"INTERNALDATE " + INTERNALDATE.encode())
                elif item == "ENVELOPE":
                    out.append(b"ENVELOPE " + _envelope(self.user, n).encode())
                elif item.startswith(("BODY[", "BODY.PEEK[", "RFC822")):
                    section = item[item.find("[") + 1 : item.find("]")] if "[" in item else ""
                    if section == "":
                        # Not partitioned: that copies a large message's whole text (10 MB
                        # on every one of a download's partial fetches, as long as our read).
                        part = msg
                    else:
                        head, _, text = msg.partition(b"\r\n\r\n")
                        if section.startswith("HEADER.FIELDS"):
                            part = _header_fields(head, section)
                        else:
                            part = {"HEADER": head + b"\r\n\r\n", "TEXT": text}.get(section, b"")
                    name = item if item.startswith("RFC822") else f"BODY[{section}]"
                    partial = _PARTIAL.search(item)
                    if partial is not None:  # BODY[]<origin.octets> (RFC 3501 §6.4.5)
                        origin, octets = int(partial.group(1)), int(partial.group(2))
                        part = part[origin : origin + octets]
                        name += f"<{origin}>"
                    out.append(b"%s {%d}\r\n%s" % (name.encode(), len(part), part))
            self.send(f"* {n} FETCH (", b" ".join(out) + b")\r\n")
        self.ok()


class FakeImapServer:
    """The fake IMAP server: plain and TLS listeners, an optional control port.

    Args:
        host: address to listen on.
        port: plain IMAP port (0 = any free port).
        tls_port: implicit-TLS port (0 = any free port, ``None`` = no TLS listener).
        control_port: line-protocol control port (``None`` = none, 0 = any free port).
        password: the password every username logs in with.
        initial_messages: how many messages each new INBOX starts with.
        body_pad_bytes: extra body bytes per message (for fetch-throughput runs).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls_port: int | None = 0,
                 control_port: int | None = None, *, password: str = "secret",
                 initial_messages: int = 0, body_pad_bytes: int = 0) -> None:
        self.host, self.port, self.tls_port, self.control_port = host, port, tls_port, control_port
        self.password = password
        self.initial_messages = initial_messages
        self.body_pad_bytes = body_pad_bytes
        self.silent = False
        # IMAP bytes (plain text, before TLS) received and sent, and DONEs received, so far.
        self.bytes_in = 0
        self.bytes_out = 0
        self.dones = 0
        self.logins = 0  # successful logins so far (one per handshake the engine paid for)
        self.cert_pem = b""
        self._mailboxes: dict[str, Mailbox] = {}
        self._watchers: dict[str, set[Session]] = {}
        self._sessions: set[Session] = set()
        self._servers: list[asyncio.Server] = []
        self._uidvalidity = int(datetime.datetime.now(datetime.UTC).timestamp())

    @property
    def session_count(self) -> int:
        """How many client connections are open."""
        return len(self._sessions)

    @property
    def idling_count(self) -> int:
        """How many sessions are in IDLE right now (a benchmark's "all accounts are idle")."""
        # An aborted session stays in _sessions until its connection_lost runs; it is not idle.
        return sum(1 for s in self._sessions if s.state is State.IDLE
                   and s.transport is not None and not s.transport.is_closing())

    async def start(self) -> None:
        """Bind the listeners; ``port``, ``tls_port`` and ``control_port`` then hold real ports.

        Raises:
            OSError: if a port cannot be bound.
        """
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(lambda: Session(self), self.host, self.port)
        self.port = srv.sockets[0].getsockname()[1]
        self._servers.append(srv)
        if self.tls_port is not None:
            srv = await loop.create_server(lambda: Session(self), self.host, self.tls_port,
                                           ssl=self._tls_context())
            self.tls_port = srv.sockets[0].getsockname()[1]
            self._servers.append(srv)
        if self.control_port is not None:
            srv = await asyncio.start_server(self._control, self.host, self.control_port)
            self.control_port = srv.sockets[0].getsockname()[1]
            self._servers.append(srv)

    async def stop(self) -> None:
        """Close the listeners and every session."""
        for srv in self._servers:
            srv.close()
        self.drop_all()
        for srv in self._servers:
            await srv.wait_closed()
        self._servers.clear()

    def mailbox(self, user: str) -> Mailbox:
        """Return ``user``'s INBOX, creating it on first use."""
        box = self._mailboxes.get(user)
        if box is None:
            box = self._mailboxes[user] = Mailbox(self._uidvalidity, self.initial_messages)
        return box

    def inject(self, user: str, n: int = 1) -> int:
        """Append ``n`` messages to ``user``'s INBOX, notify IDLE sessions; return the last UID."""
        box = self.mailbox(user)
        box.count += n
        for session in list(self._watchers.get(user, ())):
            session.notify()
        return box.count

    def drop_all(self) -> int:
        """Abort every client connection; return how many."""
        sessions = list(self._sessions)
        for session in sessions:
            if session.transport is not None:
                session.transport.abort()
        return len(sessions)

    def set_silent(self, silent: bool) -> None:
        """Stop (or resume) answering anything; input received meanwhile is discarded."""
        self.silent = silent

    def _watch(self, session: Session) -> None:
        assert session.user is not None
        self._watchers.setdefault(session.user, set()).add(session)

    def _unwatch(self, session: Session) -> None:
        assert session.user is not None
        watchers = self._watchers.get(session.user)
        if watchers is not None:
            watchers.discard(session)
            if not watchers:
                del self._watchers[session.user]

    def _tls_context(self) -> ssl.SSLContext:
        key_pem, cert_pem = _self_signed()
        self.cert_pem = cert_pem
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as tmp:  # load_cert_chain only reads files
            Path(tmp, "key.pem").write_bytes(key_pem)
            Path(tmp, "cert.pem").write_bytes(cert_pem)
            ctx.load_cert_chain(Path(tmp, "cert.pem"), Path(tmp, "key.pem"))
        return ctx

    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                words = line.decode(errors="replace").split()
                try:
                    if words[0] == "inject":
                        count = int(words[2]) if len(words) > 2 else 1
                        reply = f"OK {self.inject(words[1], count)}"
                    elif words[0] == "drop":
                        reply = f"OK {self.drop_all()}"
                    elif words[0] == "silent" and words[1] in ("on", "off"):
                        self.set_silent(words[1] == "on")
                        reply = "OK"
                    elif words[0] == "sessions":
                        reply = f"OK {self.session_count}"
                    elif words[0] == "idling":
                        reply = f"OK {self.idling_count}"
                    elif words[0] == "traffic":
                        reply = f"OK {self.bytes_in} {self.bytes_out} {self.dones}"
                    else:
                        reply = "ERR unknown command"
                except (IndexError, ValueError):
                    reply = "ERR bad arguments"
                writer.write(reply.encode() + b"\r\n")
                await writer.drain()
        except (ConnectionError, ValueError):
            pass  # ValueError: a line over the StreamReader limit; the client is gone or broken
        finally:
            writer.close()


def _self_signed() -> tuple[bytes, bytes]:
    """Return (key PEM, certificate PEM) of a self-signed P-256 cert for localhost/127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    enc = serialization.Encoding.PEM
    key_pem = key.private_bytes(enc, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(enc)


async def _main(args: argparse.Namespace) -> None:
    server = FakeImapServer(args.host, args.port, args.tls_port, args.control_port,
                            password=args.password, initial_messages=args.initial_messages,
                            body_pad_bytes=args.body_pad_bytes)
    await server.start()
    if args.cert_out:
        Path(args.cert_out).write_bytes(server.cert_pem)  # noqa: ASYNC240 - once, at startup
    ready = (f"READY port={server.port} tls_port={server.tls_port} "
             f"control_port={server.control_port} cert={args.cert_out or ''}")
    try:
        await run_until_signalled(ready=lambda: print(ready, flush=True))
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=None)
    parser.add_argument("--password", default="secret")
    parser.add_argument("--initial-messages", type=int, default=0)
    parser.add_argument("--body-pad-bytes", type=int, default=0)
    parser.add_argument("--cert-out", help="write the TLS certificate (PEM) here to trust it")
    args = parser.parse_args()
    run_async(lambda: _main(args))


if __name__ == "__main__":
    main()
