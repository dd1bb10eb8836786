#!/usr/bin/env python3
"""Text "From - Subject" of every new message via Twilio: the original twilioworker.py, on Python 3.

The original sent only ``watchAll`` on open (it relied on accounts that other workers had
connected), fetched each new message's ``subject`` and ``from``, and sent
``"<from name or email> - <subject>"`` by SMS from ``--from`` to ``--to``. This one keeps those
options and does the same through :class:`switchboard.workers.twilio_sms.TwilioSms` (the SDK's
current API; ``TwilioRestClient`` no longer exists) on the reliable runner. A message without a
sender reads ``(unknown sender) - <subject>`` instead of crashing the worker; a long text is cut
at a word boundary to one SMS segment.

The account SID and auth token may come from ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN``
(better: the secret stays off the command line and out of ``ps``); then ``--sid`` and
``--token`` may be left out. The environment wins when both are given::

    export TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=…
    python examples/original/twilioworker.py --to +15551230001 --from +15005550006 \\
        --url ws://127.0.0.1:8080/workers --state-file twilio.state
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from _original_compat import Close, Handler, add_runner_options, dead_letter, original_text, run

from switchboard.workers.base import read_secret
from switchboard.workers.mail import NewMail
from switchboard.workers.twilio_sms import SMS_PROPERTIES, TwilioSms, twilio_client

logger = logging.getLogger("twilioworker")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="twilioworker.py",
        description="Text 'From - Subject' of each new message of every watched account "
                    "(watchAll) via Twilio.")
    add_runner_options(parser)
    # Required as in the original, unless the environment holds them.
    parser.add_argument("--sid", required=not os.environ.get("TWILIO_ACCOUNT_SID"),
                        help="Twilio account SID (required unless TWILIO_ACCOUNT_SID is set)")
    parser.add_argument("--token", required=not os.environ.get("TWILIO_AUTH_TOKEN"),
                        help="Twilio auth token (required unless TWILIO_AUTH_TOKEN is set, "
                             "which is better: a command line is visible to other users)")
    parser.add_argument("--to", required=True, action="append",
                        help="phone number to text (E.164; repeatable)")
    parser.add_argument("--from", dest="from_number", required=True,
                        help="sending number (E.164) or messaging service SID (MG…)")
    parser.add_argument("--twilio-base-url",
                        help="API base instead of https://api.twilio.com (testing)")
    args = parser.parse_args(argv)

    def build() -> tuple[Handler, Sequence[str], Close]:
        sid = read_secret(args.sid, env="TWILIO_ACCOUNT_SID", what="Twilio account SID")
        token = read_secret(args.token, env="TWILIO_AUTH_TOKEN", what="Twilio auth token")
        assert sid is not None and token is not None  # required=True raises otherwise
        sms = TwilioSms(twilio_client(sid, token, base_url=args.twilio_base_url),
                        args.from_number, {"*": tuple(args.to)}, dead_letter=dead_letter(args))

        async def handle(mail: NewMail) -> None:
            logger.info("%s: %s", mail.account, original_text(mail))
            await sms(mail)

        return handle, SMS_PROPERTIES, sms.aclose

    return run(parser, args, build)


if __name__ == "__main__":
    sys.exit(main())
