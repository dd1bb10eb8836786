"""POST each new message as a signed JSON event to a URL, with retries and a dead-letter file.

The request (``Content-Type: application/json``)::

    POST <url>
    X-Switchboard-Event-Id: sb-1234          the dedup key (the server's event id)
    X-Switchboard-Timestamp: 1717430400      unix seconds when this attempt was signed
    X-Switchboard-Signature: sha256=<hex>    HMAC-SHA256(secret, "<timestamp>." + body)

    {"type": "newMessage", "id": "sb-1234", "eventId": 1234, "account": "bob@example.com",
     "mailboxId": "INBOX!1", "messageId": "INBOX!1?7",
     "summary": {"from": [{"name", "email"}], "to": [...], "subject", "date", "size", "preview"}}

Signing the timestamp with the body lets a receiver refuse replays (:func:`verify_signature`
takes a tolerance). A 2xx answer is delivered. A timeout, a connection error, 408, 425, 429 or
5xx is retried (:class:`~switchboard.workers.delivery.RetryPolicy`); any other status is
permanent. What finally fails is appended to the dead-letter file and then acknowledged; without
a dead-letter file the handler raises, so the event stays unacknowledged and comes back.
Deliveries run in parallel (the runner's ``concurrency``) but one account's events are posted
one at a time, in order (:class:`~switchboard.workers.delivery.KeyedOrder`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any, Final

import httpx

from switchboard.workers.delivery import (
    DeadLetterFile,
    DeliveryError,
    KeyedOrder,
    PermanentError,
    RetryPolicy,
    deliver_with_retries,
)
from switchboard.workers.mail import Address, NewMail

__all__ = [
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_PROPERTIES",
    "WebhookSender",
    "event_body",
    "sign",
    "verify_signature",
]

logger = logging.getLogger("switchboard.workers.webhook")

WEBHOOK_PROPERTIES: Final = ("from", "to", "subject", "date", "size", "preview")
"""What the posted summary holds; the runner fetches ``to`` and ``preview``, the rest comes with
the push (its ``from``: the first sender)."""

EVENT_ID_HEADER: Final = "X-Switchboard-Event-Id"
TIMESTAMP_HEADER: Final = "X-Switchboard-Timestamp"
SIGNATURE_HEADER: Final = "X-Switchboard-Signature"

_RETRIED_STATUSES: Final = frozenset({408, 425, 429})


def event_body(mail: NewMail) -> dict[str, Any]:
    """The JSON event posted for ``mail``."""
    return {
        "type": "newMessage",
        "id": mail.key,
        "eventId": mail.event_id,
        "account": mail.account,
        "mailboxId": mail.mailbox_id,
        "messageId": mail.message_id,
        "summary": {
            "from": _addresses(mail.sender),
            "to": _addresses(mail.recipients),
            "subject": mail.subject,
            "date": mail.date,
            "size": mail.size,
            "preview": mail.preview,
        },
    }


def _addresses(values: tuple[Address, ...]) -> list[dict[str, str]]:
    return [{"name": a.name, "email": a.email} for a in values]


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC of ``"<timestamp>." + body``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: bytes,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    tolerance_s: float = 300.0,
    now_s: float | None = None,
) -> bool:
    """Check a received webhook: the signature matches and the timestamp is recent.

    Compared in constant time. ``tolerance_s`` bounds how old (or how far in the future) the
    timestamp may be, which refuses a replayed request.
    """
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now_s is None else now_s
    if abs(current - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


class WebhookSender:
    """Deliver :class:`NewMail` as signed POSTs; an instance is the runner's handler.

    Args:
        url: where to POST.
        secret: the HMAC key shared with the receiver.
        retry: how often and how patiently to retry.
        dead_letter: where final failures go; ``None`` makes them raise (no ack).
        timeout_s: limit for each attempt (connect, send and answer).
        client: an ``httpx.AsyncClient`` to use (default: one of its own).
    """

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        retry: RetryPolicy | None = None,
        dead_letter: DeadLetterFile | None = None,
        timeout_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self.url = url
        self.secret = secret
        self.retry = retry or RetryPolicy()
        self.dead_letter = dead_letter
        self.timeout_s = timeout_s
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._own_client = client is None
        self._order = KeyedOrder()
        self.delivered = 0
        """How many events were delivered (2xx)."""
        self.dead_lettered = 0
        """How many events went to the dead-letter file."""

    async def aclose(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._own_client:
            await self._client.aclose()

    async def _post_once(self, body: bytes, event_key: str) -> None:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event_key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
        }
        try:
            response = await self._client.post(
                self.url, content=body, headers=headers, timeout=self.timeout_s
            )
        except httpx.TransportError as exc:  # connect refused, reset, timeout
            raise DeliveryError(f"POST {self.url}: {exc!r}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"POST {self.url}: HTTP {status}"
        if status in _RETRIED_STATUSES or status >= 500:
            raise DeliveryError(reason)
        raise PermanentError(reason)

    async def deliver(self, mail: NewMail) -> bool:
        """POST ``mail``, retrying; return ``True`` if delivered, ``False`` if dead-lettered.

        Waits for the earlier events of the same account first.

        Raises:
            DeliveryError: it finally failed and there is no dead-letter file.
            OSError: the dead-letter file cannot be written.
        """
        event = event_body(mail)
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        async with self._order.turn(mail.account or ""):
            try:
                await deliver_with_retries(
                    lambda: self._post_once(body, mail.key), self.retry,
                    what=f"webhook {mail.key}",
                )
            except DeliveryError as exc:
                if self.dead_letter is None:
                    raise
                logger.error("webhook %s failed for good, dead-lettered: %s", mail.key, exc)
                await self.dead_letter.write(event, str(exc))
                self.dead_lettered += 1
                return False
        self.delivered += 1
        return True

    async def __call__(self, mail: NewMail) -> None:
        """The runner's handler: deliver (or dead-letter) the event, raise if neither."""
        await self.deliver(mail)
