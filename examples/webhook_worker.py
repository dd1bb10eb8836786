#!/usr/bin/env python3
"""POST each new message as an HMAC-signed JSON event, with retries and a dead-letter file.

A thin wrapper over :func:`switchboard.workers.cli.webhook_main`; run it with ``--help`` for
every option, and see docs/workers.md for a copy-paste command.
"""

import sys

from switchboard.workers.cli import webhook_main

if __name__ == "__main__":
    sys.exit(webhook_main())
