#!/usr/bin/env python3
"""Print the subject, from and to of each new message (--raw: the parsed message too).

A thin wrapper over :func:`switchboard.workers.cli.listener_main`; run it with ``--help`` for
every option, and see docs/workers.md for a copy-paste command.
"""

import sys

from switchboard.workers.cli import listener_main

if __name__ == "__main__":
    sys.exit(listener_main())
