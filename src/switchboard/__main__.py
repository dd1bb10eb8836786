"""``python -m switchboard``: the same as the ``switchboard`` command."""

import sys

from switchboard.cli.command import main

sys.exit(main())
