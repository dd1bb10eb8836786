#!/usr/bin/env python3
"""Text 'From - Subject' to each account's phone numbers via Twilio.

A thin wrapper over :func:`switchboard.workers.cli.twilio_main`; run it with ``--help`` for
every option, and see docs/workers.md for a copy-paste command.
"""

import sys

from switchboard.workers.cli import twilio_main

if __name__ == "__main__":
    sys.exit(twilio_main())
