#!/usr/bin/env python3
"""Save each attachment of new messages to DIR/account/YYYY-MM-DD/filename.

A thin wrapper over :func:`switchboard.workers.cli.attachments_main`; run it with ``--help`` for
every option, and see docs/workers.md for a copy-paste command.
"""

import sys

from switchboard.workers.cli import attachments_main

if __name__ == "__main__":
    sys.exit(attachments_main())
