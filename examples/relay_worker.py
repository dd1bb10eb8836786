#!/usr/bin/env python3
"""Forward each new message unchanged to an SMTP server (the original's Lamson worker).

A thin wrapper over :func:`switchboard.workers.cli.relay_main`; run it with ``--help`` for
every option, and see docs/workers.md for a copy-paste command.
"""

import sys

from switchboard.workers.cli import relay_main

if __name__ == "__main__":
    sys.exit(relay_main())
