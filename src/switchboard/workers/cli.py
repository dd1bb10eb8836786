"""Command lines of the ready-made workers: options, secrets, and the run on the shared runner.

Each ``*_main(argv)`` parses its worker's options (the runner's common ones from
:func:`~switchboard.workers.runner.add_common_options`, the retry/dead-letter ones, and its
own), builds the handler from :mod:`switchboard.workers`, and runs it with
:func:`~switchboard.workers.runner.run_worker` until SIGINT or SIGTERM. Secrets are read from
files or environment variables; a command-line value is accepted but never required. The
``examples/*_worker.py`` scripts are one-line wrappers over these.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import ssl
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from switchboard.extras import MissingExtraError, require
from switchboard.runloop import run_until_signalled
from switchboard.workers.base import ConfigError, load_account_map, read_secret
from switchboard.workers.delivery import DeadLetterFile, RetryPolicy
from switchboard.workers.runner import Handler, add_common_options, run_worker, worker_options

__all__ = [
    "apns_main",
    "attachments_main",
    "listener_main",
    "relay_main",
    "twilio_main",
    "webhook_main",
]

logger = logging.getLogger("switchboard.workers.cli")

def _parser(prog: str, description: str, *, delivery: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_common_options(parser)
    parser.add_argument("--concurrency", type=int, default=4 if delivery else 1,
                        help="events handled at once (one account's stay in order where the "
                             "worker says so)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    if delivery:
        group = parser.add_argument_group("delivery")
        group.add_argument("--retries", type=int, default=5,
                           help="attempts per delivery before giving up (default 5)")
        group.add_argument("--retry-base-s", type=float, default=0.5,
                           help="first backoff ceiling in seconds, doubled each time")
        group.add_argument("--retry-max-s", type=float, default=30.0,
                           help="largest backoff in seconds (default 30)")
        group.add_argument("--dead-letter", type=Path,
                           help="JSON-lines file for deliveries that finally failed (then "
                                "acknowledged); without it they stay unacknowledged")
    return parser


def _require(parser: argparse.ArgumentParser, module: str, feature: str) -> None:
    """Exit 1 with one line naming the extra when the worker's service SDK is missing."""
    try:
        require(module, feature)
    except MissingExtraError as exc:
        parser.exit(1, f"{parser.prog}: error: {exc}\n")


def _retry(args: argparse.Namespace) -> RetryPolicy:
    return RetryPolicy(args.retries, args.retry_base_s, args.retry_max_s)


def _dead_letter(args: argparse.Namespace) -> DeadLetterFile | None:
    return DeadLetterFile(args.dead_letter) if args.dead_letter else None


Build = Callable[[], tuple[Handler, Sequence[str], Callable[[], Awaitable[None]] | None]]


async def _serve(build: Build, options: dict[str, Any], concurrency: int) -> None:
    """Build the handler in the loop (SDK sessions bind to it), run until SIGINT/SIGTERM."""
    handler, properties, close = build()
    try:
        await run_until_signalled(
            run_worker(handler, properties=tuple(properties), concurrency=concurrency,
                       **options),
            on_signal=lambda: logger.info("stopping"),
        )
    finally:
        if close is not None:
            await close()


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, build: Build) -> int:
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = worker_options(args)
        asyncio.run(_serve(build, options, args.concurrency))
    except (ValueError, OSError) as exc:  # ConfigError is a ValueError; refused at start
        parser.error(str(exc))
    return 0


# -- listener ---------------------------------------------------------------------------------


def listener_main(argv: Sequence[str] | None = None) -> int:
    """Print subject, sender and recipients of each new message (``--raw``: and its parse)."""
    from switchboard.workers.listener import ListenerHandler

    parser = _parser("listener_worker.py", "Print each new message's subject, from and to.",
                     delivery=False)
    parser.add_argument("--raw", action="store_true",
                        help="also fetch the whole message and print it parsed")
    args = parser.parse_args(argv)

    def build() -> tuple[Handler, Sequence[str], None]:
        handler = ListenerHandler(raw=args.raw)
        return handler, handler.properties, None

    return _run(parser, args, build)


# -- webhook ----------------------------------------------------------------------------------


def webhook_main(argv: Sequence[str] | None = None) -> int:
    """POST each new message as a signed JSON event."""
    parser = _parser("webhook_worker.py", "POST each new message as a signed JSON event.")
    group = parser.add_argument_group("webhook")
    group.add_argument("--webhook-url", required=True, help="where to POST the events")
    group.add_argument("--secret-file", type=Path,
                       help="file holding the HMAC secret (or set SWITCHBOARD_WEBHOOK_SECRET)")
    group.add_argument("--timeout-s", type=float, default=10.0,
                       help="limit per POST in seconds (default 10)")
    args = parser.parse_args(argv)
    _require(parser, "httpx", "the webhook worker")
    from switchboard.workers.webhook import WEBHOOK_PROPERTIES, WebhookSender

    def build() -> tuple[Handler, Sequence[str], Callable[[], Awaitable[None]]]:
        secret = read_secret(env="SWITCHBOARD_WEBHOOK_SECRET", file=args.secret_file,
                             what="webhook secret")
        assert secret is not None
        sender = WebhookSender(args.webhook_url, secret.encode(), retry=_retry(args),
                               dead_letter=_dead_letter(args), timeout_s=args.timeout_s)
        return sender, WEBHOOK_PROPERTIES, sender.aclose

    return _run(parser, args, build)


# -- relay ------------------------------------------------------------------------------------


def relay_main(argv: Sequence[str] | None = None) -> int:
    """Forward each new message unchanged to an SMTP server."""
    parser = _parser("relay_worker.py", "Forward each new message unchanged over SMTP.")
    group = parser.add_argument_group("SMTP")
    group.add_argument("--smtp-host", default="127.0.0.1", help="SMTP server (default 127.0.0.1)")
    group.add_argument("--smtp-port", type=int, default=25, help="SMTP port (default 25)")
    tls = group.add_mutually_exclusive_group()
    tls.add_argument("--smtp-tls", action="store_true", help="implicit TLS (port 465)")
    tls.add_argument("--smtp-starttls", action="store_true", help="require STARTTLS")
    tls.add_argument("--smtp-plain", action="store_true", help="never STARTTLS")
    group.add_argument("--smtp-ca-file", help="CA bundle to verify the SMTP server with")
    group.add_argument("--smtp-user", help="SMTP AUTH login")
    group.add_argument("--smtp-password-file", type=Path,
                       help="file holding the SMTP password (or set SWITCHBOARD_SMTP_PASSWORD)")
    group.add_argument("--mail-from", help="envelope sender for every message ('' for <>); "
                                           "default: its Return-Path, else its From")
    group.add_argument("--rcpt-to", action="append", default=[],
                       help="envelope recipient (repeatable)")
    group.add_argument("--rcpt-map", type=Path,
                       help="JSON/TOML file: account -> recipients ('*' for the rest)")
    group.add_argument("--keep-recipients", action="store_true",
                       help="without --rcpt-to/--rcpt-map, send to the message's To/Cc/Bcc")
    args = parser.parse_args(argv)
    _require(parser, "aiosmtplib", "the SMTP relay worker")
    from switchboard.workers.relay import RELAY_PROPERTIES, EnvelopeRewrite, SmtpRelay

    def build() -> tuple[Handler, Sequence[str], None]:
        password = read_secret(env="SWITCHBOARD_SMTP_PASSWORD", file=args.smtp_password_file,
                               what="SMTP password", required=args.smtp_user is not None)
        rewrite = EnvelopeRewrite(
            sender=args.mail_from, recipients=tuple(args.rcpt_to),
            recipient_map=load_account_map(args.rcpt_map) if args.rcpt_map else {},
            keep_recipients=args.keep_recipients,
        )
        if not (rewrite.recipients or rewrite.recipient_map or rewrite.keep_recipients):
            raise ConfigError("give --rcpt-to, --rcpt-map or --keep-recipients")
        context = ssl.create_default_context(cafile=args.smtp_ca_file)
        start_tls = True if args.smtp_starttls else False if args.smtp_plain else None
        relay = SmtpRelay(args.smtp_host, args.smtp_port, rewrite=rewrite,
                          username=args.smtp_user, password=password, use_tls=args.smtp_tls,
                          start_tls=start_tls, tls_context=context, retry=_retry(args),
                          dead_letter=_dead_letter(args))
        return relay, RELAY_PROPERTIES, None

    return _run(parser, args, build)


# -- attachments ------------------------------------------------------------------------------


def attachments_main(argv: Sequence[str] | None = None) -> int:
    """Save every attachment of new messages under a directory."""
    from switchboard.workers.attachments import (
        ATTACHMENT_PROPERTIES,
        AttachmentSaver,
        DirectoryStorage,
    )

    parser = _parser("attachments_worker.py",
                     "Save each attachment to DIR/account/YYYY-MM-DD/filename.", delivery=False)
    parser.add_argument("--dir", type=Path, required=True, help="the directory tree's root")
    args = parser.parse_args(argv)

    def build() -> tuple[Handler, Sequence[str], None]:
        return AttachmentSaver(DirectoryStorage(args.dir)), ATTACHMENT_PROPERTIES, None

    return _run(parser, args, build)


# -- APNs -------------------------------------------------------------------------------------


def apns_main(argv: Sequence[str] | None = None) -> int:
    """Push each new message to the account's Apple devices."""
    parser = _parser("apns_worker.py", "Push 'From – Subject' to each account's Apple devices.")
    group = parser.add_argument_group("APNs")
    group.add_argument("--topic", required=True, help="your app's bundle id")
    group.add_argument("--key-file", help="token auth: the .p8 signing key file")
    group.add_argument("--key-id", help="token auth: the key id")
    group.add_argument("--team-id", help="token auth: your team id")
    group.add_argument("--cert", help="certificate auth: PEM with certificate and key")
    group.add_argument("--sandbox", action="store_true", help="use the development environment")
    group.add_argument("--devices", type=Path,
                       help="JSON/TOML file: account -> device tokens ('*' for the rest)")
    group.add_argument("--pushtoken", action="append", default=[],
                       help="a device token for every account (the original's option)")
    group.add_argument("--badge", type=int, help="badge number to set")
    group.add_argument("--apns-server", help="HOST:PORT instead of Apple's (testing)")
    group.add_argument("--apns-ca-file", help="CA bundle for --apns-server")
    args = parser.parse_args(argv)
    _require(parser, "aioapns", "the APNs worker")
    from switchboard.workers.apns import APNS_PROPERTIES, ApnsNotifier, apns_client

    def build() -> tuple[Handler, Sequence[str], Callable[[], Awaitable[None]]]:
        devices = dict(load_account_map(args.devices)) if args.devices else {}
        if args.pushtoken:
            devices["*"] = devices.get("*", ()) + tuple(args.pushtoken)
        if not devices:
            raise ConfigError("give --devices or --pushtoken")
        server = None
        if args.apns_server:
            host, _, port = args.apns_server.rpartition(":")
            server = (host, int(port))
        context = ssl.create_default_context(cafile=args.apns_ca_file)
        client = apns_client(topic=args.topic, key_file=args.key_file, key_id=args.key_id,
                             team_id=args.team_id, cert_file=args.cert, sandbox=args.sandbox,
                             server=server, ssl_context=context)
        notifier = ApnsNotifier(client, devices, badge=args.badge, retry=_retry(args),
                                dead_letter=_dead_letter(args))

        async def close() -> None:
            client.pool.close()

        return notifier, APNS_PROPERTIES, close

    return _run(parser, args, build)


# -- Twilio -----------------------------------------------------------------------------------


def twilio_main(argv: Sequence[str] | None = None) -> int:
    """Text each new message's sender and subject via Twilio."""
    parser = _parser("twilio_worker.py", "Text 'From - Subject' to each account's numbers.")
    group = parser.add_argument_group("Twilio")
    group.add_argument("--sid", help="account SID (or set TWILIO_ACCOUNT_SID)")
    group.add_argument("--twilio-token-file", type=Path,
                       help="file holding the auth token (or set TWILIO_AUTH_TOKEN)")
    group.add_argument("--from", dest="from_number", required=True,
                       help="sending number (E.164) or messaging service SID (MG…)")
    group.add_argument("--numbers", type=Path,
                       help="JSON/TOML file: account -> phone numbers ('*' for the rest)")
    group.add_argument("--to", action="append", default=[],
                       help="a number for every account (the original's option)")
    group.add_argument("--max-chars", type=int, help="SMS length (default: one segment)")
    group.add_argument("--twilio-base-url", help="API base instead of https://api.twilio.com")
    args = parser.parse_args(argv)
    _require(parser, "twilio", "the Twilio SMS worker")
    from switchboard.workers.twilio_sms import SMS_PROPERTIES, TwilioSms, twilio_client

    def build() -> tuple[Handler, Sequence[str], Callable[[], Awaitable[None]]]:
        sid = read_secret(args.sid, env="TWILIO_ACCOUNT_SID", what="Twilio account SID")
        token = read_secret(env="TWILIO_AUTH_TOKEN", file=args.twilio_token_file,
                            what="Twilio auth token")
        assert sid is not None and token is not None
        numbers = dict(load_account_map(args.numbers)) if args.numbers else {}
        if args.to:
            numbers["*"] = numbers.get("*", ()) + tuple(args.to)
        if not numbers:
            raise ConfigError("give --numbers or --to")
        sms = TwilioSms(twilio_client(sid, token, base_url=args.twilio_base_url),
                        args.from_number, numbers, max_chars=args.max_chars,
                        retry=_retry(args), dead_letter=_dead_letter(args))
        return sms, SMS_PROPERTIES, sms.aclose

    return _run(parser, args, build)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(listener_main())
