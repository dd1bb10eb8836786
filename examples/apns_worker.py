#!/usr/bin/env python3
"""Push 'From – Subject' to each account's Apple devices (HTTP/2 provider API).

A thin wrapper over :func:`switchboard.workers.cli.apns_main`; run it with ``--help`` for
every option, and see docs/workers.md for a copy-paste command.
"""

import sys

from switchboard.workers.cli import apns_main

if __name__ == "__main__":
    sys.exit(apns_main())
