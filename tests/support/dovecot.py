"""Run a throwaway Dovecot IMAP server for integration tests, configured entirely from Python.

A Python port of the tested shell recipe (dovecot-fixture.sh): no systemd, nothing in /etc, one
directory holds the config, users file, certificates, log, runtime sockets and mail.

How it works:

- ``dovecot -c DIR/dovecot.conf`` binds its listeners before daemonising, so a port clash fails
  at once; we pick random ports in 20000-31999 (below the kernel's ephemeral range, so client
  sockets never take them) and retry on "Address already in use".
- Ready means the ``* OK`` greeting arrived on the plain port: Dovecot holds the greeting until
  its auth process is up.
- As root, mail processes refuse uid 0, so they run as ``dovecot`` and logins as ``dovenull``;
  the instance directory and every parent must then be o+x (see :func:`make_traversable`).
- A pool of users is written before start: Dovecot re-reads the passwd-file at most once a
  second, so handing out pre-created users means :meth:`DovecotServer.new_user` never waits.
- ``verbose_proctitle = yes`` makes every imap process title ``<instance>/imap [user ip cmd]``,
  which is how we count and kill one user's sessions.
- XOAUTH2/OAUTHBEARER always work: an ``oauth2`` passdb asks an :class:`OAuth2Stub` to
  introspect the token; PLAIN/LOGIN fall through to the passwd-file passdb.
"""

from __future__ import annotations

import contextlib
import datetime
import imaplib
import ipaddress
import os
import random
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.oauth2_stub import OAuth2Stub

__all__ = ["DovecotNotInstalledError", "DovecotServer", "ImapUser", "make_traversable"]

INSTALL_HINT = "dovecot is not installed: run ./scripts/test, which installs dovecot-imapd"
PORT_RANGE = (20000, 31999)
MAX_PORT_ATTEMPTS = 20
READY_TIMEOUT_S = 10.0
KILL_WAIT_TIMEOUT_S = 5.0
IMAP_TIMEOUT_S = 10.0
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
# "<instance>/imap [user ip COMMAND]" (verbose_proctitle); COMMAND is absent between commands
_SESSION_TITLE = re.compile(r"/imap \[(?P<user>\S+) \S+(?: (?P<command>[^\]]*))?\]")


class DovecotNotInstalledError(RuntimeError):
    """Raised by :meth:`DovecotServer.start` when the ``dovecot`` binary is not on PATH."""


@dataclass(frozen=True, slots=True)
class ImapUser:
    """One mail account on the fixture's Dovecot."""

    username: str
    password: str


def make_traversable(path: Path) -> None:
    """Add o+x to ``path`` and each parent we own that lacks it, so ``dovecot`` can reach it."""
    uid = os.geteuid()
    for p in [path, *path.parents]:
        st = p.stat()
        if st.st_uid == uid and not st.st_mode & stat.S_IXOTH:
            p.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _write_certs(directory: Path) -> None:
    """Write a throwaway CA (ca.pem) and a P-256 leaf for localhost/127.0.0.1 (cert.pem, key.pem).

    A separate CA rather than one self-signed leaf: strict X.509 verification (Python 3.13+)
    rejects a leaf that is its own trust anchor.
    """
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "switchboard test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "cert.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    key_path = directory / "key.pem"
    key_path.write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)


def _mutf7(name: str) -> str:
    """Encode a mailbox name in IMAP modified UTF-7 (RFC 3501 §5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            import base64

            b = base64.b64encode("".join(pending).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + b.decode().replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _mailbox_arg(name: str) -> str:
    """Return ``name`` as an IMAP quoted string in modified UTF-7 (imaplib sends args verbatim)."""
    escaped = _mutf7(name).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (orphans may stay zombies for a while here)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 :][:1] not in (b"Z", b"X", b"")


def _wait_until(done: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``done`` every 5 ms until it is true or ``timeout_s`` passes; return its last value.

    Polling is the only option here: process exit has no event we can wait on for processes
    that are not our children.
    """
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def _group_alive(pgid: int) -> bool:
    """True if any live (non-zombie) process is in process group ``pgid``."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = Path(entry.path, "stat").read_bytes()
        except OSError:
            continue
        rest = st[st.rfind(b")") + 2 :].split()
        if len(rest) > 3 and int(rest[3]) == pgid and rest[0] not in (b"Z", b"X"):
            return True
    return False


def _children(ppid: int) -> Iterator[tuple[int, str]]:
    """Yield ``(pid, title)`` of the live children of ``ppid`` (titles from /proc cmdline)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = Path(entry.path, "stat").read_bytes()
            rest = st[st.rfind(b")") + 2 :].split()
            if int(rest[1]) != ppid or rest[0] in (b"Z", b"X"):
                continue
            title = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").strip()
        except (OSError, IndexError, ValueError):
            continue
        yield int(entry.name), title.decode("utf-8", "replace")


def _unix_sockets_without_peer() -> set[int]:
    """Inodes of connected unix stream sockets whose other end was closed (``ss -xn``)."""
    ss = shutil.which("ss") or shutil.which("ss", path="/usr/bin:/usr/sbin:/bin:/sbin")
    if ss is None:
        raise RuntimeError("ss (iproute2) is not installed")
    out = subprocess.run([ss, "-xn"], capture_output=True, text=True, timeout=IMAP_TIMEOUT_S,
                         check=True).stdout
    orphaned = set()
    # "u_str ESTAB 0 0 <local address> <inode> <peer address> <peer inode>"
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "u_str" and fields[1] == "ESTAB" and fields[7] == "0":
            orphaned.add(int(fields[5]))
    return orphaned


def _has_socket_in(pid: int, inodes: set[int]) -> bool:
    """Whether process ``pid`` holds one of the sockets ``inodes``."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                    return True
    except OSError:
        pass  # gone meanwhile
    return False


class DovecotServer:
    """One throwaway Dovecot instance in ``dir``, listening on 127.0.0.1.

    Attributes:
        host: always ``"127.0.0.1"``.
        port: plain IMAP (STARTTLS offered); 0 until the first :meth:`start`.
        tls_port: implicit TLS (IMAPS).
        ca_file: the CA certificate to trust for both listeners.
        dir: the instance directory.
        oauth2: the stub that introspects XOAUTH2 tokens for this server.
    """

    def __init__(self, dir: Path, oauth2: OAuth2Stub, *, pool_size: int = 300,
                 max_connections: int = 300) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.tls_port = 0
        self.dir = dir
        self.ca_file = dir / "ca.pem"
        self.oauth2 = oauth2
        self._pool_size = pool_size
        self._max_connections = max_connections
        self._users: list[ImapUser] = []
        self._next_user = 0
        self._lock = threading.Lock()
        self._pid: int | None = None
        # unique per directory: appears in process titles and lets instances run side by side
        self._instance = f"fx{zlib.crc32(str(dir).encode()):08x}"
        self._root = os.geteuid() == 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start Dovecot and wait for its greeting; reuses the ports of an earlier start.

        Raises:
            DovecotNotInstalledError: if ``dovecot`` is not on PATH.
            RuntimeError: if Dovecot fails to start or does not greet within READY_TIMEOUT_S.
        """
        binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")
        if binary is None:
            raise DovecotNotInstalledError(INSTALL_HINT)
        if self._pid is not None and _alive(self._pid):
            return
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "run" / "master.pid").unlink()
        if not (self.dir / "key.pem").exists():
            _write_certs(self.dir)
        if not self._users:
            self._add_users(self._pool_size)
        if self._root:
            shutil.chown(self.dir / "mail", "dovecot", "dovecot")
            make_traversable(self.dir)
        (self.dir / "oauth2.conf.ext").write_text(
            "introspection_mode = post\n"
            f"introspection_url = {self.oauth2.introspection_url}\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
        fixed = self.port != 0
        rng = random.SystemRandom()
        for attempt in range(1, MAX_PORT_ATTEMPTS + 1):
            if not fixed:
                self.port = rng.randint(*PORT_RANGE)
                self.tls_port = self.port
                while self.tls_port == self.port:
                    self.tls_port = rng.randint(*PORT_RANGE)
            self._write_conf()
            # stderr to a file, not a pipe: the daemonised master inherits it and would keep a
            # pipe open forever
            err_path = self.dir / "start.err"
            with err_path.open("wb") as err:
                proc = subprocess.run([binary, "-c", str(self.dir / "dovecot.conf")],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=err, check=False)
            if proc.returncode == 0:
                break
            errors = err_path.read_text(errors="replace")
            if not fixed and "Address already in use" in errors and attempt < MAX_PORT_ATTEMPTS:
                continue
            raise RuntimeError(f"dovecot failed to start: {errors.strip()}\n{self._log_tail()}")
        self._wait_ready()
        self._pid = int((self.dir / "run" / "master.pid").read_text().strip())

    def stop(self, graceful_timeout_s: float = 0.3) -> None:
        """Stop Dovecot: SIGTERM, then SIGKILL its process group if it lingers (idempotent).

        Dovecot closes its listeners and ends the sessions at once on SIGTERM, but its master
        then idles about a second before exiting; we do not wait for that, which keeps
        :meth:`restart` fast. Mail is already written by then (each APPEND completed).

        Args:
            graceful_timeout_s: how long the master gets to exit before the SIGKILL.
        """
        pid, self._pid = self._pid, None
        if pid is None or not _alive(pid):
            return
        try:
            pgid = os.getpgid(pid)
        except ProcessLookupError:
            return
        # the master daemonises with setsid(): its children share its process group
        group = pgid == pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        _wait_until(lambda: not _alive(pid), graceful_timeout_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pgid, signal.SIGKILL)
            elif _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if group:
            # every process holding a listener must be gone before a restart binds the ports
            _wait_until(lambda: not _group_alive(pgid), KILL_WAIT_TIMEOUT_S)
        else:
            _wait_until(lambda: not _alive(pid), KILL_WAIT_TIMEOUT_S)

    def restart(self) -> None:
        """Stop and start again on the same ports, keeping users and mail.

        Raises:
            RuntimeError: as :meth:`start`.
        """
        self.stop()
        self.start()

    # -- users ---------------------------------------------------------------------------------

    def new_user(self) -> ImapUser:
        """Return a user nobody else has used on this server.

        The pool is pre-created; only if it runs dry do we add more users and wait out Dovecot's
        once-a-second re-read of the users file.
        """
        with self._lock:
            if self._next_user >= len(self._users):
                self._add_users(100)
                time.sleep(1.1)  # unavoidable: Dovecot stat()s the users file at most once a second
            user = self._users[self._next_user]
            self._next_user += 1
            return user

    def set_password(self, user: ImapUser, password: str) -> None:
        """Change ``user``'s password in the users file, as an administrator would.

        Waits out Dovecot's once-a-second re-read, so the next login sees the new password.
        ``user`` itself still holds the password it was created with.
        """
        with self._lock:
            self._users = [ImapUser(u.username, password) if u.username == user.username else u
                           for u in self._users]
            self._write_users()
        time.sleep(1.1)  # unavoidable: Dovecot stat()s the users file at most once a second

    def _add_users(self, count: int) -> None:
        start = len(self._users) + 1
        self._users += [ImapUser(f"user{n}", f"pass{n}-{secrets.token_hex(4)}")
                        for n in range(start, start + count)]
        self._write_users()

    def _write_users(self) -> None:
        tmp = self.dir / "users.tmp"
        tmp.write_text("".join(f"{u.username}:{{PLAIN}}{u.password}\n" for u in self._users))
        tmp.chmod(0o644)
        tmp.replace(self.dir / "users")

    # -- mailbox helpers (stdlib imaplib over the plain port) ----------------------------------

    @contextlib.contextmanager
    def _session(self, user: ImapUser) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4(self.host, self.port, timeout=IMAP_TIMEOUT_S)
        try:
            imap.login(user.username, user.password)
            yield imap
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                imap.logout()

    @staticmethod
    def _check(result: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
        typ, data = result
        if typ != "OK":
            raise RuntimeError(f"{what} failed: {typ} {data!r}")
        return data

    def append(self, user: ImapUser, message: bytes, mailbox: str = "INBOX",
               flags: str = "") -> int:
        """APPEND ``message`` and return its new UID (from APPENDUID, RFC 4315).

        Raises:
            RuntimeError: if the server refuses the APPEND.
        """
        return self.append_many(user, [message], mailbox, flags)[0]

    def append_many(self, user: ImapUser, messages: Sequence[bytes], mailbox: str = "INBOX",
                    flags: str = "") -> list[int]:
        """APPEND each message over one connection; return the new UIDs in order.

        Raises:
            RuntimeError: if the server refuses an APPEND.
        """
        flag_arg = None
        if flags:
            flag_arg = flags if flags.startswith("(") else f"({flags})"
        uids: list[int] = []
        with self._session(user) as imap:
            for msg in messages:
                result = imap.append(_mailbox_arg(mailbox), flag_arg, None, msg)
                data = self._check(result, "APPEND")
                # the tagged OK carries "[APPENDUID <uidvalidity> <uid>] Append completed."
                raw = data[0] if data else b""
                match = _APPENDUID.search(raw if isinstance(raw, bytes) else str(raw).encode())
                if match is None:
                    raise RuntimeError(f"APPEND answered without APPENDUID: {data!r}")
                uids.append(int(match.group(2)))
        return uids

    def create_mailbox(self, user: ImapUser, name: str) -> None:
        """CREATE ``name``.

        Raises:
            RuntimeError: if the server refuses.
        """
        with self._session(user) as imap:
            self._check(imap.create(_mailbox_arg(name)), "CREATE")

    def delete_mailbox(self, user: ImapUser, name: str) -> None:
        """DELETE ``name``.

        Raises:
            RuntimeError: if the server refuses.
        """
        with self._session(user) as imap:
            self._check(imap.delete(_mailbox_arg(name)), "DELETE")

    def rename_mailbox(self, user: ImapUser, old: str, new: str) -> None:
        """RENAME ``old`` to ``new``.

        Raises:
            RuntimeError: if the server refuses.
        """
        with self._session(user) as imap:
            self._check(imap.rename(_mailbox_arg(old), _mailbox_arg(new)), "RENAME")

    def uidvalidity(self, user: ImapUser, mailbox: str = "INBOX") -> int:
        """Return the mailbox's UIDVALIDITY (via STATUS).

        Raises:
            RuntimeError: if the server refuses.
        """
        with self._session(user) as imap:
            data = self._check(imap.status(_mailbox_arg(mailbox), "(UIDVALIDITY)"), "STATUS")
        raw = data[0]
        match = _UIDVALIDITY.search(raw if isinstance(raw, bytes) else str(raw).encode())
        if match is None:
            raise RuntimeError(f"STATUS without UIDVALIDITY: {data!r}")
        return int(match.group(1))

    def flags(self, user: ImapUser, mailbox: str = "INBOX") -> dict[int, set[str]]:
        """UID → flags (without ``\\Recent``), as another IMAP client sees them (EXAMINE).

        Raises:
            RuntimeError: if the server refuses.
        """
        found: dict[int, set[str]] = {}
        with self._session(user) as imap:
            self._check(imap.select(_mailbox_arg(mailbox), readonly=True), "EXAMINE")
            data = self._check(imap.uid("FETCH", "1:*", "(UID FLAGS)"), "UID FETCH")
        for line in data:
            if isinstance(line, bytes):
                uid = re.search(rb"UID (\d+)", line)
                flags = re.search(rb"FLAGS \(([^)]*)\)", line)
                if uid is None or flags is None:
                    raise RuntimeError(f"FETCH without UID or FLAGS: {line!r}")
                found[int(uid.group(1))] = set(flags.group(1).decode().split()) - {"\\Recent"}
        return found

    # -- processes -----------------------------------------------------------------------------

    def _imap_processes(self, user: ImapUser | None) -> list[int]:
        if self._pid is None:
            return []
        marker = "/imap [" + (f"{user.username} " if user is not None else "")
        return [pid for pid, title in _children(self._pid) if marker in title]

    def kill_imap_processes(self, user: ImapUser | None = None) -> int:
        """SIGKILL the imap session processes (of ``user``, or all); return how many.

        Waits until they are gone, so a following :meth:`imap_connection_count` sees zero.
        """
        pids = self._imap_processes(user)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _wait_until(lambda: not any(_alive(p) for p in pids), KILL_WAIT_TIMEOUT_S)
        return len(pids)

    def imap_connection_count(self, user: ImapUser) -> int:
        """Count ``user``'s logged-in IMAP sessions (one imap process each)."""
        return len(self._imap_processes(user))

    def sessions_by_user(self, *, ghosts: bool = False) -> dict[str, list[str]]:
        """Every logged-in IMAP session, by user: the command each one is in ("IDLE", "" ...).

        Read from the session processes' titles (``verbose_proctitle``): the server's own view
        of who is connected and which sessions sit in IDLE right now.

        A session whose client is gone but which Dovecot has not noticed yet is left out
        (with ``ghosts=True`` only those are listed). Such ghosts happen: now and then, when
        a client is killed, imap-login closes its end of the session's socket yet the imap
        process sitting in IDLE does not see it until it next writes (the "Still here" of
        ``imap_idle_notify_interval``, 2 minutes here). Its client socket then has no peer.
        """
        sessions: dict[str, list[str]] = {}
        if self._pid is None:
            return sessions
        orphaned = _unix_sockets_without_peer()
        for pid, title in _children(self._pid):
            match = _SESSION_TITLE.search(title)
            if match is None or _has_socket_in(pid, orphaned) != ghosts:
                continue
            sessions.setdefault(match["user"], []).append(match["command"] or "")
        return sessions

    def who(self) -> dict[str, int]:
        """``doveadm who``: the number of IMAP connections per user, as Dovecot's anvil counts.

        Raises:
            RuntimeError: doveadm failed.
        """
        doveadm = shutil.which("doveadm") or shutil.which("doveadm", path="/usr/bin:/usr/sbin")
        if doveadm is None or self._pid is None:
            raise RuntimeError("doveadm is not installed or dovecot is not running")
        proc = subprocess.run([doveadm, "-c", str(self.dir / "dovecot.conf"), "who", "-1"],
                              capture_output=True, text=True, timeout=IMAP_TIMEOUT_S, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm who failed: {proc.stderr.strip()}")
        counts: dict[str, int] = {}
        # "username proto pid ip" per connection, after a header line.
        for line in proc.stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 2 and fields[1] == "imap":
                counts[fields[0]] = counts.get(fields[0], 0) + 1
        return counts

    # -- internals -----------------------------------------------------------------------------

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as sock:
                    if sock.recv(512).startswith(b"* OK"):
                        sock.sendall(b"r LOGOUT\r\n")
                        return
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"dovecot on port {self.port} is not answering\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "\n".join((self.dir / "dovecot.log").read_text().splitlines()[-20:])
        except OSError:
            return "(no dovecot.log)"

    def _write_conf(self) -> None:
        d = self.dir
        if self._root:
            internal, login, mail = "dovecot", "dovenull", "dovecot"
        else:
            import grp
            import pwd

            internal = login = mail = pwd.getpwuid(os.geteuid()).pw_name
        group = "dovecot" if self._root else grp.getgrgid(os.getegid()).gr_name
        procs = self._max_connections + 16
        clients = self._max_connections * 4 + 100
        conf = f"""\
# generated by tests/support/dovecot.py - throwaway test instance
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = {self._instance}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# else every failed login costs 2 s
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = {procs}
# process titles carry user, ip and command: how tests count and kill one user's sessions
verbose_proctitle = yes
# the stat() fallback when inotify is unavailable (fs.inotify.max_user_instances exhausted)
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 2 mins
default_process_limit = {procs}
default_client_limit = {clients}
default_vsz_limit = 256 M
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {d}/oauth2.conf.ext
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={mail} gid={group} home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  # RFC 6154 special-use attributes (JMAP roles); created only when a test creates them
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
  mailbox Archive {{
    special_use = \\Archive
  }}
}}
service anvil {{
  chroot =
  # mode 0 disables the auth penalty: else after one failed login every later login from
  # 127.0.0.1 waits 2-15 s, and tests of wrong passwords would slow down everyone else's
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  # a few long-lived login processes (also terminating TLS) serve every client
  service_count = 0
  process_min_avail = 1
  client_limit = {clients}
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service imap {{
  # one process per session: each has its own inotify instance, so IDLE is deterministic
  service_count = 1
  process_limit = {procs}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""
        (d / "dovecot.conf").write_text(conf)
