"""The push summary: ``mail.summary.summary_of`` per message, on a realistic set of header blocks.

Usage::

    .venv/bin/python bench/summary.py [--peer-src /work/wt/summary-before/src]

The blocks are what an IMAP server answers ``BODY.PEEK[HEADER.FIELDS (DATE SUBJECT FROM)]`` with
(``SUMMARY_PLAN``): mostly plain ASCII fields in the orders mail clients write them, plus the
common others — RFC 2047 subjects and names, raw UTF-8, a quoted name with a comma, a bare
address, a folded subject, undeclared Latin-1, a message without a subject, a list as sender.
Best of ``--repeat`` rounds of CPU time (``time.process_time``), per message, for:

- ``summary_of`` (fast path where the block allows it, the exact path for the rest);
- the exact path alone (``mail.summary._general_summary``, the reading through
  ``mail.envelope``) — every block is checked to give the same summary both ways;
- fake_imap's block alone (``bench/fanout.py``'s messages), both ways;
- with ``--peer-src DIR``: ``summary_of`` of another checkout's ``src`` (e.g. main in a
  ``git worktree``), run in a child process between this process's rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

from switchboard.mail import summary

DATE = b"Date: Tue, 03 Jun 2014 10:00:00 -0700\r\n"
# (weight, block): the weights make a plausible inbox, mostly plain ASCII.
BLOCKS: list[tuple[int, bytes]] = [
    (6, DATE + b"From: Sender <sender@example.com>\r\nSubject: Message 17\r\n\r\n"),
    (
        4,
        b"From: Ann Lee <ann.lee@example.org>\r\nSubject: Re: lunch on Friday?\r\n"
        + DATE
        + b"\r\n",
    ),
    (
        4,
        b"Subject: [dev] Build failed: main #4121\r\n"
        + DATE
        + b"From: ci@build.example.net\r\n\r\n",
    ),
    (
        3,
        b'From: "Doe, John" <john.doe@corp.example.com>\r\n'
        + DATE
        + b"Subject: Quarterly numbers\r\n\r\n",
    ),
    (
        2,
        DATE
        + b'From: "GitHub" <notifications@github.example>\r\n'
        + b"Subject: [org/repo] Fix the parser (#123)\r\n\r\n",
    ),
    (
        2,
        b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\nFrom: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= "
        b"<joerg@example.de>\r\n" + DATE + b"\r\n",
    ),
    (1, "Subject: Grüße aus Köln\r\nFrom: Zoë <zoe@example.fr>\r\n".encode() + DATE + b"\r\n"),
    (
        1,
        b"Subject: a long subject that the sender's client\r\n folded over two lines\r\n"
        + DATE
        + b"From: Bob <bob@example.com>\r\n\r\n",
    ),
    (1, b"Subject: Caf\xe9 cr\xe8me\r\nFrom: Andr\xe9 <andre@example.fr>\r\n" + DATE + b"\r\n"),
    (1, DATE + b"From: alice@example.com, bob@example.com\r\n\r\n"),
]
SET = [block for weight, block in BLOCKS for _ in range(weight)]
FAKE_IMAP = BLOCKS[0][1]


def per_message_us(
    function: Callable[[bytes, int | None], object], blocks: list[bytes], repeat: int, loops: int
) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(loops):
            for block in blocks:
                function(block, 1234)
        best = min(best, time.process_time() - start)
    return best / (loops * len(blocks)) * 1e6


def measure(repeat: int, loops: int) -> dict[str, float]:
    return {
        "set": per_message_us(summary.summary_of, SET, repeat, loops),
        "set exact": per_message_us(summary._general_summary, SET, repeat, loops),
        "fake_imap": per_message_us(summary.summary_of, [FAKE_IMAP], repeat, loops * len(SET)),
        "fake_imap exact": per_message_us(
            summary._general_summary, [FAKE_IMAP], repeat, loops * len(SET)
        ),
    }


def peer(src: str, repeat: int, loops: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": src}
    argv = [sys.executable, __file__, "--child", "--repeat", str(repeat), "--loops", str(loops)]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True, timeout=600)
    figures: dict[str, float] = json.loads(out.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="rounds, the best counts")
    parser.add_argument("--loops", type=int, default=1000, help="passes over the set per round")
    parser.add_argument("--rounds", type=int, default=3, help="ours/peer alternations")
    parser.add_argument("--peer-src", help="another checkout's src directory to compare with")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(
            json.dumps(
                {
                    "set": per_message_us(summary.summary_of, SET, args.repeat, args.loops),
                    "fake_imap": per_message_us(
                        summary.summary_of, [FAKE_IMAP], args.repeat, args.loops * len(SET)
                    ),
                }
            )
        )
        return
    for block in SET:
        fast, exact = summary.summary_of(block, 1), summary._general_summary(block, 1)
        if fast != exact:
            raise SystemExit(f"the two paths differ on {block!r}: {fast} != {exact}")
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for _ in range(args.rounds):
        ours.append(measure(args.repeat, args.loops))
        if args.peer_src:
            theirs.append(peer(args.peer_src, args.repeat, args.loops))
    best = {key: min(round_[key] for round_ in ours) for key in ours[0]}
    print(
        f"summary: {len(SET)} header blocks ({len(BLOCKS)} kinds), best of "
        f"{args.rounds} x {args.repeat} rounds, CPU time per message"
    )
    print(
        f"  realistic set: summary_of {best['set']:.2f} us, exact path {best['set exact']:.2f}"
        f" us ({best['set exact'] / best['set']:.1f}x)"
    )
    print(
        f"  fake_imap's block: summary_of {best['fake_imap']:.2f} us, exact path "
        f"{best['fake_imap exact']:.2f} us ({best['fake_imap exact'] / best['fake_imap']:.1f}x)"
    )
    if theirs:
        peer_best = {key: min(round_[key] for round_ in theirs) for key in theirs[0]}
        print(
            f"  peer ({args.peer_src}) summary_of: realistic set {peer_best['set']:.2f} us "
            f"({peer_best['set'] / best['set']:.1f}x ours), fake_imap's block "
            f"{peer_best['fake_imap']:.2f} us ({peer_best['fake_imap'] / best['fake_imap']:.1f}x)"
        )


if __name__ == "__main__":
    main()
