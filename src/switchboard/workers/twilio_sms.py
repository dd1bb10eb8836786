"""Text each new message's sender and subject to the account's phone numbers, via Twilio.

The SMS reads ``"Ann Example - Lunch?"`` (an ASCII hyphen, unlike the push title's en dash: one
character outside the GSM-7 alphabet switches the whole SMS to UCS-2 and cuts a segment from 160
to 70 characters). It is truncated at a word boundary to one segment — 160 characters in GSM-7,
70 otherwise — unless ``max_chars`` says otherwise (Twilio concatenates up to 1600).

Numbers come from the same account map as the APNs tokens (JSON or TOML, ``"*"`` for every other
account). Each number is sent with the official SDK's ``messages.create_async`` over its aiohttp
transport; :func:`twilio_client` can point it at another base URL (a local test server). A 429
or 5xx answer, or a connection error, is retried; a number already sent to is not texted again
on retry; any other 4xx (an invalid number, a number that opted out) is permanent and logged.
What finally fails goes to the dead-letter file, or the handler raises.

A redelivered event (at-least-once) texts again: Twilio's API has no idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from switchboard.workers.base import notification_text, targets_for, truncate
from switchboard.workers.delivery import (
    DeadLetterFile,
    DeliveryError,
    RetryPolicy,
    deliver_to_each,
)
from switchboard.workers.mail import NewMail

__all__ = [
    "GSM7_SEGMENT_CHARS",
    "SMS_PROPERTIES",
    "UCS2_SEGMENT_CHARS",
    "TwilioSms",
    "is_gsm7",
    "sms_text",
    "twilio_client",
]

logger = logging.getLogger("switchboard.workers.twilio")

SMS_PROPERTIES: Final = ("from", "subject")
"""What an SMS reads: both are in the push summary, so the runner sends no ``getMessages``."""

GSM7_SEGMENT_CHARS: Final = 160
UCS2_SEGMENT_CHARS: Final = 70

# GSM 03.38 basic character set (the extension table's characters count double; left out).
_GSM7: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def is_gsm7(text: str) -> bool:
    """Whether ``text`` fits the GSM-7 basic alphabet (160 characters per SMS segment)."""
    return all(char in _GSM7 for char in text)


def sms_text(mail: NewMail, max_chars: int | None = None) -> str:
    """``"<sender> - <subject>"``, truncated to one segment (or ``max_chars``)."""
    text = notification_text(mail, "-")
    if max_chars is None:
        max_chars = GSM7_SEGMENT_CHARS if is_gsm7(text) else UCS2_SEGMENT_CHARS
    # "..." keeps a GSM-7 text in GSM-7; "…" would make it UCS-2.
    return truncate(text, max_chars, "..." if is_gsm7(text) else "…")


def twilio_client(
    account_sid: str, auth_token: str, *, base_url: str | None = None, timeout_s: float = 15.0,
) -> Client:
    """A Twilio REST client on the SDK's asyncio transport.

    Args:
        account_sid: your account SID (``AC…``).
        auth_token: its auth token (or an API key secret with the key SID as ``account_sid``).
        base_url: the Messaging API's base instead of ``https://api.twilio.com`` (tests).
        timeout_s: limit for each HTTP request.
    """
    client = Client(account_sid, auth_token, http_client=AsyncTwilioHttpClient(timeout=timeout_s))
    if base_url is not None:
        # The SDK builds every URL from its domain's base_url; replacing it is its own seam.
        client.api.base_url = base_url
    return client


class TwilioSms:
    """Text each :class:`NewMail` to its account's numbers; an instance is the runner's handler.

    Args:
        client: a Twilio client on the asyncio transport (see :func:`twilio_client`).
        from_number: the sending number (E.164) or a messaging service SID (``MG…``).
        number_map: account → E.164 numbers.
        max_chars: SMS length limit (default: one segment).
        retry: retry policy for transient failures.
        dead_letter: where final failures go; ``None`` makes them raise (no ack).
    """

    def __init__(
        self,
        client: Client,
        from_number: str,
        number_map: Mapping[str, tuple[str, ...]],
        *,
        max_chars: int | None = None,
        retry: RetryPolicy | None = None,
        dead_letter: DeadLetterFile | None = None,
    ) -> None:
        self.client = client
        self.from_number = from_number
        self.number_map = number_map
        self.max_chars = max_chars
        self.retry = retry or RetryPolicy()
        self.dead_letter = dead_letter
        self.sent = 0
        """How many SMS Twilio accepted."""

    async def aclose(self) -> None:
        """Close the HTTP session of the client's transport."""
        http = self.client.http_client
        if isinstance(http, AsyncTwilioHttpClient):
            await http.close()

    async def _send_once(self, number: str, body: str) -> bool:
        sender: dict[str, Any] = (
            {"messaging_service_sid": self.from_number}
            if self.from_number.startswith("MG") else {"from_": self.from_number}
        )
        try:
            await self.client.messages.create_async(to=number, body=body, **sender)
        except TwilioException as exc:
            status = getattr(exc, "status", None)
            reason = f"Twilio: {exc}"
            if status is None or status == 429 or status >= 500:
                raise DeliveryError(reason) from exc
            logger.warning("SMS to %s refused (HTTP %s): %s; not retried", number, status, exc)
            return False
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"Twilio: {exc!r}") from exc
        return True

    async def deliver(self, mail: NewMail) -> int:
        """Text ``mail`` to each number of its account; return how many Twilio accepted.

        Raises:
            DeliveryError: some number still failed after the retries, and there is no
                dead-letter file.
            OSError: the dead-letter file cannot be written.
        """
        numbers = targets_for(self.number_map, mail.account)
        if not numbers:
            logger.info("%s: no number for account %r", mail.key, mail.account)
            return 0
        body = sms_text(mail, self.max_chars)

        async def text(number: str) -> bool:
            return await self._send_once(number, body)

        accepted = await deliver_to_each(
            numbers, text, self.retry, what=f"SMS {mail.key}", dead_letter=self.dead_letter,
            dead_record=lambda pending: {"id": mail.key, "numbers": pending, "body": body})
        self.sent += accepted
        return accepted

    async def __call__(self, mail: NewMail) -> None:
        """The runner's handler: text, raise if a number could neither get it nor be recorded."""
        await self.deliver(mail)
