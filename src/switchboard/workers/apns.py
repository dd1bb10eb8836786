"""Apple push notifications for new mail, through the HTTP/2 provider API (``aioapns``).

For each new message, every device token the account maps to (:func:`~switchboard.workers.base.
load_account_map`, ``"*"`` for all other accounts) gets an alert titled ``"From – Subject"``
with the preview as its body, an optional badge, the default sound, and the message's ids as
custom keys for the app::

    {"aps": {"alert": {"title": "Ann – Lunch?", "body": "Are you free at noon…"},
             "badge": 1, "sound": "default"},
     "account": "bob@example.com", "messageId": "INBOX!1?7", "eventId": 7}

Authentication is token-based (a ``.p8`` signing key, its key id and your team id; preferred by
Apple) or certificate-based (a PEM with the certificate and its key); :func:`apns_client` builds
either, for the sandbox or production. Outcomes per token: 200 is delivered; 400/403/404/410 (a
bad or unregistered token, a refused topic) is permanent and logged — retrying would not help;
429 and 5xx, a lost connection or a timeout are retried, and a token already delivered is not
pushed again on retry. What finally fails goes to the dead-letter file, or the handler raises.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Mapping
from typing import Any, Final, Protocol

from aioapns import APNs, NotificationRequest, PushType
from aioapns.common import NotificationResult
from aioapns.exceptions import ConnectionClosed as ApnsConnectionClosed
from aioapns.exceptions import ConnectionError as ApnsConnectionError
from aioapns.exceptions import MaxAttemptsExceeded

from switchboard.workers.base import notification_text, targets_for
from switchboard.workers.base import truncate as _truncate
from switchboard.workers.delivery import (
    DeadLetterFile,
    DeliveryError,
    RetryPolicy,
    deliver_to_each,
)
from switchboard.workers.mail import NewMail

__all__ = [
    "APNS_PROPERTIES",
    "MAX_BODY_CHARS",
    "MAX_TITLE_CHARS",
    "ApnsNotifier",
    "ApnsSender",
    "apns_client",
    "payload_for",
]

logger = logging.getLogger("switchboard.workers.apns")

APNS_PROPERTIES: Final = ("from", "subject", "preview")
"""What a notification reads; the runner fetches only the preview (the rest is in the summary)."""

MAX_TITLE_CHARS: Final = 120
"""Longest alert title; iOS shows about one line of it anyway."""

MAX_BODY_CHARS: Final = 180
"""Longest alert body; keeps the payload far below APNs' 4 KiB limit."""

_RETRIED_STATUSES: Final = frozenset({"429", "500", "503"})


class ApnsSender(Protocol):
    """What :class:`ApnsNotifier` needs of ``aioapns.APNs`` (a fake can stand in)."""

    async def send_notification(self, request: NotificationRequest) -> NotificationResult:
        """Send one notification and return its result."""
        ...


def payload_for(mail: NewMail, *, badge: int | None = None, sound: str | None = "default",
                ) -> dict[str, Any]:
    """The APNs JSON payload for ``mail`` (see the module docstring)."""
    alert: dict[str, Any] = {"title": _truncate(notification_text(mail), MAX_TITLE_CHARS)}
    if mail.preview:
        alert["body"] = _truncate(mail.preview, MAX_BODY_CHARS)
    aps: dict[str, Any] = {"alert": alert}
    if badge is not None:
        aps["badge"] = badge
    if sound:
        aps["sound"] = sound
    return {"aps": aps, "account": mail.account, "messageId": mail.message_id,
            "eventId": mail.event_id}


def apns_client(
    *,
    topic: str,
    key_file: str | None = None,
    key_id: str | None = None,
    team_id: str | None = None,
    cert_file: str | None = None,
    sandbox: bool = False,
    server: tuple[str, int] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    max_connections: int = 4,
    max_connection_attempts: int = 3,
) -> APNs:
    """An ``aioapns.APNs`` client with token (``key_file``…) or certificate auth.

    Args:
        topic: your app's bundle id.
        key_file: the ``.p8`` signing key (token auth), with ``key_id`` and ``team_id``.
        key_id: the key's id.
        team_id: your Apple developer team id.
        cert_file: a PEM holding the push certificate and its key (certificate auth).
        sandbox: the development environment instead of production.
        server: ``(host, port)`` to reach instead of Apple's (a local test server).
        ssl_context: TLS settings (for ``server``: one that trusts it).
        max_connections: HTTP/2 connections kept open to APNs.
        max_connection_attempts: aioapns' own tries per push (it waits 1 s between them)
            before our retry policy takes over.

    Raises:
        ValueError: neither or both kinds of credentials, or an incomplete key triple.
        OSError: the key file cannot be read.
    """
    if (key_file is None) == (cert_file is None):
        raise ValueError("give either a .p8 key (token auth) or a certificate, not both")
    if key_file is not None:
        if not key_id or not team_id:
            raise ValueError("token auth needs the key id and the team id")
        with open(key_file, encoding="ascii") as handle:
            key = handle.read()
        client = APNs(key=key, key_id=key_id, team_id=team_id, topic=topic,
                      use_sandbox=sandbox, ssl_context=ssl_context,
                      max_connections=max_connections,
                      max_connection_attempts=max_connection_attempts)
    else:
        client = APNs(client_cert=cert_file, topic=topic, use_sandbox=sandbox,
                      ssl_context=ssl_context, max_connections=max_connections,
                      max_connection_attempts=max_connection_attempts)
    if server is not None:
        # aioapns takes the host and port from its protocol class, not from an argument; a
        # subclass with other constants is the one seam it offers (used by our tests).
        pool: Any = client.pool
        pool.protocol_class = type(
            "LocalApnsProtocol", (pool.protocol_class,),
            {"APNS_SERVER": server[0], "APNS_PORT": server[1]},
        )
    return client


class ApnsNotifier:
    """Push each :class:`NewMail` to its account's devices; an instance is the runner's handler.

    Args:
        client: an ``aioapns.APNs`` (see :func:`apns_client`).
        device_map: account → device tokens.
        badge: the badge number to set, ``None`` to leave the badge alone.
        sound: the sound to play, ``None`` for none.
        retry: retry policy for transient failures.
        dead_letter: where final failures go; ``None`` makes them raise (no ack).
        timeout_s: limit for each push.
    """

    def __init__(
        self,
        client: ApnsSender,
        device_map: Mapping[str, tuple[str, ...]],
        *,
        badge: int | None = None,
        sound: str | None = "default",
        retry: RetryPolicy | None = None,
        dead_letter: DeadLetterFile | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.client = client
        self.device_map = device_map
        self.badge = badge
        self.sound = sound
        self.retry = retry or RetryPolicy()
        self.dead_letter = dead_letter
        self.timeout_s = timeout_s
        self.pushed = 0
        """How many notifications APNs accepted."""

    async def _push_once(self, token: str, payload: dict[str, Any], apns_id: str) -> bool:
        request = NotificationRequest(device_token=token, message=payload,
                                      notification_id=apns_id, push_type=PushType.ALERT)
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await self.client.send_notification(request)
        except (ApnsConnectionError, ApnsConnectionClosed, MaxAttemptsExceeded, OSError,
                TimeoutError) as exc:
            raise DeliveryError(f"APNs: {exc!r}") from exc
        if result.is_successful:
            return True
        reason = f"APNs {result.status} {result.description or ''}".strip()
        if result.status in _RETRIED_STATUSES:
            raise DeliveryError(reason)
        logger.warning("device %s…: %s; not retried", token[:8], reason)
        return False

    async def deliver(self, mail: NewMail) -> int:
        """Push ``mail`` to each device of its account; return how many accepted it.

        Raises:
            DeliveryError: some device still failed after the retries, and there is no
                dead-letter file.
            OSError: the dead-letter file cannot be written.
        """
        tokens = targets_for(self.device_map, mail.account)
        if not tokens:
            logger.info("%s: no device for account %r", mail.key, mail.account)
            return 0
        payload = payload_for(mail, badge=self.badge, sound=self.sound)

        async def push(token: str) -> bool:
            # A stable apns-id per (event, device): APNs and logs can match the retries.
            return await self._push_once(token, payload, _apns_id(mail, token))

        accepted = await deliver_to_each(
            tokens, push, self.retry, what=f"APNs {mail.key}", dead_letter=self.dead_letter,
            dead_record=lambda pending: {"id": mail.key, "devices": pending, "payload": payload})
        self.pushed += accepted
        return accepted

    async def __call__(self, mail: NewMail) -> None:
        """The runner's handler: push, raise if a device could neither get it nor be recorded."""
        await self.deliver(mail)


def _apns_id(mail: NewMail, token: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"switchboard:{mail.key}:{token}"))
