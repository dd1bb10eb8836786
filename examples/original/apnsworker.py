#!/usr/bin/env python3
"""Push "From - Subject" of every new message to an iPhone: the original apnsworker.py, on Python 3.

The original fetched each new message's ``subject`` and ``from`` and pushed
``"<from name or email> - <subject>"`` (badge 1, the default sound) to ``--pushtoken`` through
Apple's sandbox, authenticated by the certificate ``--cert`` and its key ``--key``; without
``--pushtoken`` it only logged the text. This one keeps those options and defaults and does the
same through :mod:`switchboard.workers.apns` (Apple's HTTP/2 API; the binary protocol the
original's PyAPNs spoke is gone) on the reliable runner. A message without a sender reads
``(unknown sender) - <subject>`` instead of crashing the worker.

On open the original connected a test account whose credentials were written in the script.
Here the account comes from ``--host``, ``--port`` and ``--user``, with the password from
``$SWITCHBOARD_IMAP_PASSWORD`` or ``--password-file``: the worker connects it and watches its
INBOX. Without ``--host`` it sends only ``watchAll`` and serves the accounts other workers
connected::

    SWITCHBOARD_IMAP_PASSWORD=… python examples/original/apnsworker.py \\
        --cert cert.pem --key key.pem --pushtoken a1b2c3… --host imap.example.com \\
        --user bob@example.com
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _original_compat import Close, Handler, add_runner_options, dead_letter, original_text, run
from aioapns import NotificationRequest
from aioapns.common import NotificationResult

from switchboard.workers.apns import ApnsNotifier, ApnsSender, apns_client
from switchboard.workers.base import ConfigError, read_secret
from switchboard.workers.mail import NewMail

logger = logging.getLogger("apnsworker")

ORIGINAL_PROPERTIES = ("subject", "from")
"""What the original fetched for each message (no preview: its alert was one line); both come
with the push's summary now, so nothing is fetched."""


class OriginalAlert:
    """An :class:`ApnsSender` that makes each alert the original's plain ``"From - Subject"``.

    :class:`ApnsNotifier` titles its alerts ``"From – Subject"`` (en dash) with the preview as
    the body; the original's alert was the plain string. The handler registers the text of the
    message it delivers; every push for that message gets it as its alert. Retries, status
    handling and dead-lettering stay the notifier's.
    """

    def __init__(self, client: ApnsSender) -> None:
        self.client = client
        self.texts: dict[str, str] = {}
        """messageId → alert text, only while that message is being delivered."""

    async def send_notification(self, request: NotificationRequest) -> NotificationResult:
        """Send ``request`` with its alert replaced by the registered text."""
        message: dict[str, Any] = dict(request.message)
        text = self.texts.get(str(message.get("messageId")))
        if text is not None:
            message["aps"] = {**message.get("aps", {}), "alert": text}
            request.message = message
        return await self.client.send_notification(request)


def _certificate_chain(cert: Path, key: Path) -> tuple[str, Path | None]:
    """One PEM with the certificate and its key (what aioapns loads), and a file to remove.

    Raises:
        ConfigError: the certificate or the key cannot be read.
    """
    try:
        cert_pem = cert.read_bytes()
        if b"PRIVATE KEY" in cert_pem and (key == cert or not key.exists()):
            return str(cert), None
        key_pem = key.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    # mkstemp creates the file readable by us only; it is removed once aioapns loaded it.
    fd, name = tempfile.mkstemp(prefix="apnsworker-", suffix=".pem")
    with os.fdopen(fd, "wb") as out:
        out.write(cert_pem.rstrip(b"\n") + b"\n" + key_pem)
    return name, Path(name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="apnsworker.py",
        description="Push 'From - Subject' of each new message to an Apple device (sandbox).")
    add_runner_options(parser)
    parser.add_argument("--cert", type=Path, default=Path("cert.pem"),
                        help="the push certificate, PEM (default cert.pem)")
    parser.add_argument("--key", type=Path, default=Path("key.pem"),
                        help="its private key, PEM (default key.pem)")
    parser.add_argument("--pushtoken", help="the device token to push to (none: only log)")
    account = parser.add_argument_group("the account to connect (else only watchAll)")
    account.add_argument("--host", help="IMAP host (implicit TLS)")
    account.add_argument("--port", type=int, default=993, help="IMAP port (default 993)")
    account.add_argument("--user", help="IMAP login name (the account)")
    account.add_argument("--password-file", type=Path,
                         help="file holding the IMAP password (or set SWITCHBOARD_IMAP_PASSWORD)")
    apns = parser.add_argument_group("APNs, additions to the original options")
    apns.add_argument("--topic", default="",
                      help="your app's bundle id (default: the certificate's UID)")
    apns.add_argument("--production", action="store_true",
                      help="Apple's production environment instead of the sandbox")
    apns.add_argument("--apns-server", help="HOST:PORT instead of Apple's (testing)")
    apns.add_argument("--apns-ca-file", help="CA bundle for --apns-server")
    args = parser.parse_args(argv)

    accounts: list[dict[str, Any]] = []
    if args.host:
        try:
            password = read_secret(env="SWITCHBOARD_IMAP_PASSWORD", file=args.password_file,
                                   what="IMAP password")
        except ConfigError as exc:
            parser.error(str(exc))
        if not args.user:
            parser.error("--host needs --user")
        accounts.append({"host": args.host, "port": args.port,
                         "auth": {"type": "plain", "username": args.user, "password": password}})

    def build() -> tuple[Handler, Sequence[str], Close | None]:
        if not args.pushtoken:
            async def log_only(mail: NewMail) -> None:
                logger.info("%s: %s (no --pushtoken: not pushed)", mail.account,
                            original_text(mail))

            return log_only, ORIGINAL_PROPERTIES, None
        server = None
        if args.apns_server:
            host, _, port = args.apns_server.rpartition(":")
            server = (host, int(port))
        chain, temporary = _certificate_chain(args.cert, args.key)
        try:
            client = apns_client(topic=args.topic, cert_file=chain, sandbox=not args.production,
                                 server=server,
                                 ssl_context=ssl.create_default_context(cafile=args.apns_ca_file))
        except ssl.SSLError as exc:
            raise ConfigError(f"cannot use the certificate and key: {exc}") from exc
        finally:
            if temporary is not None:
                temporary.unlink()
        alert = OriginalAlert(client)
        notifier = ApnsNotifier(alert, {"*": (args.pushtoken,)}, badge=1, sound="default",
                                dead_letter=dead_letter(args))

        async def push(mail: NewMail) -> None:
            text = original_text(mail)
            logger.info("%s: %s", mail.account, text)
            alert.texts[mail.message_id] = text
            try:
                await notifier.deliver(mail)
            finally:
                del alert.texts[mail.message_id]

        async def close() -> None:
            client.pool.close()

        return push, ORIGINAL_PROPERTIES, close

    return run(parser, args, build, accounts=accounts)


if __name__ == "__main__":
    sys.exit(main())
