#!/usr/bin/env python3
"""Relay every new message to an SMTP server: the original lamsonworker.py, on Python 3.

The original was a ``Fetcher`` that sent ``watchAll`` on open (it relied on accounts that other
workers had connected) and handed each new message to Lamson's SMTP relay at ``--host:--port``.
This one keeps those options and defaults and does the same through
:class:`switchboard.workers.relay.SmtpRelay` on the reliable runner: the message's raw source is
sent unchanged, to the addresses of its To/Cc/Bcc headers (Lamson's relay used the To header),
from its Return-Path, else its From, else the null reverse-path ``<>`` — so a message without a
sender is relayed too. Lamson's relay spoke plain SMTP; this one upgrades with STARTTLS when the
server offers it (and then verifies its certificate), else stays plain. For implicit TLS, a
required STARTTLS, a private CA or SMTP AUTH use ``relay_worker.py``. An event is acknowledged
once the SMTP server accepted the message (4xx and connection errors are retried)::

    python examples/original/lamsonworker.py --url ws://127.0.0.1:8080/workers \\
        --host 127.0.0.1 --port 8823 --state-file lamson.state
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from _original_compat import Handler, add_runner_options, dead_letter, run

from switchboard.workers.relay import RELAY_PROPERTIES, EnvelopeRewrite, SmtpRelay


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lamsonworker.py",
        description="Relay each new message of every watched account to an SMTP server "
                    "(watchAll).")
    add_runner_options(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="SMTP server to relay to (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8823,
                        help="its port (default 8823, Lamson's)")
    parser.add_argument("--debug", type=int, default=0,
                        help="non-zero logs every step, SMTP included, at DEBUG (default 0)")
    args = parser.parse_args(argv)

    def build() -> tuple[Handler, Sequence[str], None]:
        # start_tls=None (STARTTLS when offered), not False: SmtpRelay sends the null
        # reverse-path by hand and, without the EHLO that the STARTTLS check makes, the
        # server answers "503 send HELO first" (reported to the relay's owner).
        relay = SmtpRelay(args.host, args.port, rewrite=EnvelopeRewrite(keep_recipients=True),
                          start_tls=None, dead_letter=dead_letter(args))
        return relay, RELAY_PROPERTIES, None

    return run(parser, args, build, log_level="DEBUG" if args.debug else None)


if __name__ == "__main__":
    sys.exit(main())
