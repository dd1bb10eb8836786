"""Parser speed: microseconds per server response, the current parser against the previous one.

Usage::

    .venv/bin/python bench/parser.py                      # every kind, default sizes
    .venv/bin/python bench/parser.py --kinds fetch-envelope,search-10000 --rounds 9

A canned corpus of realistic server responses (FETCH with ENVELOPE, FLAGS, UID, RFC822.SIZE and
BODYSTRUCTURE, single-part and multipart; FETCH of BODY[] literals of 10 KB and 1 MB; EXISTS,
EXPUNGE, RECENT; LIST; STATUS; SEARCH with 10,000 UIDs; tagged OK with response codes; quoted
strings with escapes; 8-bit text) goes, kind by kind, through ``switchboard.imap.parser`` (ours)
and through the parser it replaced, kept unchanged as the test oracle in
``tests/support/imap_reference_parser`` (the peer), in the same process, alternating rounds. Each
round feeds one stream of responses in 16 KiB reads (what one TLS record delivers), draining after
each read as ``ImapConnection.data_received`` does. Before timing, both parsers' results on the
stream are compared: a mismatch stops the benchmark.

For scale, the floor: ``imaplib``'s own response reader (``IMAP4._get_response``, which only
splits lines and literals and builds no structure) over the same bytes from memory.

Figures are CPU time of this process (``time.process_time``, so that other processes on a
shared machine do not count), best round, in microseconds per response.
Target: ours >= 10x faster than the peer per FETCH response. The last line prints the ratio over
all FETCH kinds (total time of the peer / total time of ours).
"""

from __future__ import annotations

import argparse
import imaplib
import io
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from _common import machine  # noqa: E402
from tests.support.imap_reference_parser import ResponseParser as ReferenceParser  # noqa: E402

from switchboard.imap.parser import ResponseParser  # noqa: E402

READ_BYTES = 16 * 1024
TARGET_RATIO = 10.0
_BIG = 2 * 1024 * 1024  # limits high enough for the 1 MB literal


# ---------------------------------------------------------------- the corpus


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _address(name: str | None, mailbox: str, host: str) -> str:
    return f"({'NIL' if name is None else _quote(name)} NIL {_quote(mailbox)} {_quote(host)})"


def _envelope(uid: int, *, escaped: bool = False) -> str:
    sender = _address('Alice "Al" Smith' if escaped else "Alice Smith", "alice", "example.com")
    to = _address(None, f"user{uid % 97:04d}", "bench.example")
    cc = (_address("Bob", "bob", "example.org") + _address(None, "carol", "example.net")
          if uid % 3 == 0 else "NIL")
    subject = f'Re: "Quarterly" report \\ {uid}' if escaped else f"Quarterly report {uid}"
    date = f"Mon, {1 + uid % 28:02d} Jan 2024 10:{uid % 60:02d}:00 +0000"
    return (f"({_quote(date)} {_quote(subject)} ({sender}) ({sender}) ({sender}) ({to}) "
            f"{'(' + cc + ')' if cc != 'NIL' else 'NIL'} NIL NIL {_quote(f'<{uid}@example.com>')})")


_PLAIN = ('("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 1834 42 NIL NIL NIL '
          "NIL)")
_HTML = '("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 9120 180 NIL NIL NIL NIL)'
_PDF = ('("application" "pdf" ("name" "report.pdf") NIL NIL "base64" 183920 NIL '
        '("attachment" ("filename" "report.pdf")) NIL NIL)')
_MULTIPART = (f'(({_PLAIN[1:-5]})({_HTML[1:-5]}) "alternative" ("boundary" "b2") NIL NIL NIL)'
              f'{_PDF} "mixed" ("boundary" "b1") NIL NIL NIL)')
_MULTIPART = "(" + _MULTIPART


def _fetch(uid: int, rest: str | bytes) -> bytes:
    items = rest.encode() if isinstance(rest, str) else rest
    return b"* %d FETCH (UID %d RFC822.SIZE %d FLAGS (\\Seen) %s)\r\n" % (
        uid, uid + 1000, 4000 + uid, items)


def _envelope_8bit(uid: int) -> bytes:
    # Dovecot sends 8-bit header text as literals.
    subject = f"Grüße aus Köln, Nr. {uid} ✓".encode()
    name = "Jörg Müller".encode()
    return (b'ENVELOPE ("Mon, 01 Jan 2024 10:00:00 +0000" {%d}\r\n%s (({%d}\r\n%s NIL "joerg" '
            b'"example.de")) (({%d}\r\n%s NIL "joerg" "example.de")) (({%d}\r\n%s NIL "joerg" '
            b'"example.de")) ((NIL NIL "bob" "example.org")) NIL NIL NIL "<%d@example.de>")'
            % (len(subject), subject, len(name), name, len(name), name, len(name), name, uid))


def _body(size: int, uid: int) -> bytes:
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
    text = (b"Subject: Message %d\r\nFrom: a@example.com\r\n\r\n" % uid) + line * (size // 81)
    return text[:size].ljust(size, b"x")


def corpus(n: int = 2000) -> dict[str, tuple[bytes, int]]:
    """Return each kind's stream of responses and how many it holds (about ``n`` a kind)."""
    kinds: dict[str, tuple[bytes, int]] = {}

    def add(name: str, responses: Iterator[bytes]) -> None:
        items = list(responses)
        kinds[name] = (b"".join(items), len(items))

    add("fetch-envelope", (_fetch(i, f"ENVELOPE {_envelope(i)}") for i in range(1, n + 1)))
    add("fetch-envelope-escapes",
        (_fetch(i, f"ENVELOPE {_envelope(i, escaped=True)}") for i in range(1, n + 1)))
    add("fetch-envelope-8bit", (_fetch(i, _envelope_8bit(i)) for i in range(1, n + 1)))
    add("fetch-bodystructure-single", (
        _fetch(i, f"ENVELOPE {_envelope(i)} BODYSTRUCTURE {_PLAIN}") for i in range(1, n + 1)))
    add("fetch-bodystructure-multipart", (
        _fetch(i, f"ENVELOPE {_envelope(i)} BODYSTRUCTURE {_MULTIPART}")
        for i in range(1, n + 1)))
    add("fetch-body-10k", (
        b"* %d FETCH (UID %d BODY[] {10240}\r\n%s)\r\n" % (i, i, _body(10240, i))
        for i in range(1, max(2, n // 10) + 1)))
    add("fetch-body-1m", (
        b"* %d FETCH (UID %d BODY[] {1048576}\r\n%s)\r\n" % (i, i, _body(1 << 20, i))
        for i in range(1, max(1, n // 500) + 1)))
    add("exists-expunge-recent", (
        (b"* %d EXISTS\r\n", b"* %d RECENT\r\n", b"* %d EXPUNGE\r\n")[i % 3] % i
        for i in range(1, 3 * n)))
    add("list", (
        (b'* LIST (\\HasNoChildren) "/" "Folder %d"\r\n',
         b'* LIST (\\HasChildren \\Noselect) "." Archive.%d\r\n',
         b'* LIST (\\HasNoChildren \\Sent) "/" "[Gmail]/Sent \\"%d\\""\r\n',
         b'* LIST (\\HasNoChildren) "." Entw&APw-rfe.%d\r\n')[i % 4] % i
        for i in range(1, n + 1)))
    add("status", (
        b'* STATUS "Folder %d" (MESSAGES %d RECENT 0 UIDNEXT %d UIDVALIDITY 1700000000 '
        b"UNSEEN %d)\r\n" % (i, i * 7, i * 7 + 1, i % 5)
        for i in range(1, n + 1)))
    add("search-10000", (
        b"* SEARCH " + b" ".join(b"%d" % (r * 100_000 + u) for u in range(1, 10_001)) + b"\r\n"
        for r in range(1, max(1, n // 200) + 1)))
    add("tagged-codes", (
        (b"A%d OK [READ-WRITE] SELECT completed\r\n",
         b"* OK [UIDVALIDITY %d] UIDs valid\r\n",
         b"* OK [UIDNEXT %d] Predicted next UID\r\n",
         b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\*)] Limited %d\r\n",
         b"A%d OK [CAPABILITY IMAP4rev1 IDLE LITERAL+ UIDPLUS] Logged in\r\n",
         b"A%d NO [TRYCREATE] Mailbox doesn't exist\r\n")[i % 6] % i
        for i in range(1, 3 * n)))
    return kinds


# ---------------------------------------------------------------- the runners


Parser = type[ResponseParser] | type[ReferenceParser]


def drain(parser_class: Parser, stream: bytes) -> list[object]:
    parser = parser_class(max_literal_bytes=_BIG, max_line_bytes=_BIG)
    out: list[object] = []
    for start in range(0, len(stream), READ_BYTES):
        parser.receive_data(stream[start : start + READ_BYTES])
        while (response := parser.next_response()) is not None:
            out.append(response)
    return out


def time_parser(parser_class: Parser, stream: bytes) -> float:
    parser = parser_class(max_literal_bytes=_BIG, max_line_bytes=_BIG)
    receive, take = parser.receive_data, parser.next_response
    reads = [stream[i : i + READ_BYTES] for i in range(0, len(stream), READ_BYTES)]
    start = time.process_time()
    for data in reads:
        receive(data)
        while take() is not None:
            pass
    return time.process_time() - start


class _Replay(imaplib.IMAP4):
    """imaplib reading responses from memory: its reader, without a socket or a greeting."""

    def __init__(self, stream: bytes) -> None:
        self._stream = stream
        super().__init__()

    def open(self, host: str = "", port: int = 0, timeout: float | None = None) -> None:
        self.file = io.BytesIO(self._stream)  # type: ignore[assignment]

    def _connect(self) -> None:
        self.tagpre = b"A"
        self.tagre = re.compile(rb"(?P<tag>A\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
        self._cmd_log_len, self._cmd_log_idx, self._cmd_log = 10, 0, {}
        self.tagged_commands = _AnyTag()  # type: ignore[assignment]


class _AnyTag(dict):  # type: ignore[type-arg]
    def __contains__(self, key: object) -> bool:
        return True


def time_imaplib(stream: bytes) -> float:
    imap = _Replay(stream)
    end = len(stream)
    file = imap.file
    start = time.process_time()
    while file.tell() < end:  # type: ignore[attr-defined]
        imap._get_response()  # type: ignore[attr-defined]
        imap.untagged_responses.clear()
    return time.process_time() - start


def best_of(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():  # alternating, so that load affects all alike
            best[name] = min(best[name], run())
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per kind")
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: all)")
    parser.add_argument("--count", type=int, default=2000,
                        help="responses per kind (fewer for the large ones)")
    args = parser.parse_args()
    kinds = corpus(args.count)
    chosen = [k for k in args.kinds.split(",") if k] or list(kinds)
    for name in chosen:
        if name not in kinds:
            raise SystemExit(f"unknown kind {name!r}; kinds: {', '.join(kinds)}")
    print(f"parser: µs per response, best of {args.rounds} rounds, {READ_BYTES // 1024} KiB "
          f"reads; {machine()}")
    print(f"  {'kind':30s} {'responses':>9s} {'bytes each':>10s} {'imaplib':>9s} "
          f"{'peer':>9s} {'ours':>9s} {'peer/ours':>9s}")
    fetch_peer = fetch_ours = 0.0
    for name in chosen:
        stream, count = kinds[name]
        ours_out, peer_out = drain(ResponseParser, stream), drain(ReferenceParser, stream)
        if ours_out != peer_out or len(ours_out) != count:
            print(f"MISMATCH in {name}: {len(ours_out)} vs {len(peer_out)} responses",
                  file=sys.stderr)
            raise SystemExit(1)
        best = best_of(args.rounds, {
            "imaplib": lambda s=stream: time_imaplib(s),
            "peer": lambda s=stream: time_parser(ReferenceParser, s),
            "ours": lambda s=stream: time_parser(ResponseParser, s),
        })
        us = {k: v / count * 1e6 for k, v in best.items()}
        print(f"  {name:30s} {count:9d} {len(stream) // count:10d} {us['imaplib']:9.2f} "
              f"{us['peer']:9.2f} {us['ours']:9.2f} {us['peer'] / us['ours']:8.1f}x")
        if name.startswith("fetch-"):
            fetch_peer += best["peer"]
            fetch_ours += best["ours"]
    if fetch_ours:
        ratio = fetch_peer / fetch_ours
        print(f"FETCH responses, ours vs previous parser: {ratio:.1f}x faster "
              f"(target >= {TARGET_RATIO:.0f}x: {'ok' if ratio >= TARGET_RATIO else 'MISSED'})")


if __name__ == "__main__":
    main()
