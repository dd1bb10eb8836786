"""Forward each new message unchanged to an SMTP server, with envelope rewrite options.

The modern replacement for the original's Lamson worker: fetch the message's ``raw`` source,
decide its SMTP envelope (:class:`EnvelopeRewrite`), and send it with ``aiosmtplib`` — the
header and body bytes are not touched, only the envelope (``MAIL FROM``/``RCPT TO``) is chosen.

Envelope rules, in order:

* recipients: the account's entry in ``recipient_map`` (or its ``"*"`` entry), else the fixed
  ``recipients``, else — only with ``keep_recipients`` — the message's To, Cc and Bcc addresses;
* sender: the fixed ``sender`` (``""`` is the null reverse-path ``<>``), else the address in the
  message's Return-Path, else its From, else the null reverse-path.

Errors: a 4xx reply, a timeout or a refused connection is retried; a 5xx reply (e.g. relaying
denied) is permanent. What finally fails goes to the dead-letter file with its raw source, or
the handler raises and the event stays unacknowledged.

Not byte-exact for 8-bit mail that is not UTF-8: the server's ``raw`` is text (invalid lines
decoded as Windows-1252: docs/protocol.md, "getMessages properties"), and it is re-encoded as
UTF-8 here.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import aiosmtplib

from switchboard.workers.base import targets_for
from switchboard.workers.delivery import (
    DeadLetterFile,
    DeliveryError,
    PermanentError,
    RetryPolicy,
    deliver_with_retries,
)
from switchboard.workers.mail import NewMail

__all__ = ["RELAY_PROPERTIES", "Envelope", "EnvelopeRewrite", "SmtpRelay"]

logger = logging.getLogger("switchboard.workers.relay")

RELAY_PROPERTIES: Final = ("raw",)
"""The ``getMessages`` properties the relay needs."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """An SMTP envelope: ``sender`` ``""`` is the null reverse-path."""

    sender: str
    recipients: tuple[str, ...]


def _addresses(values: list[str]) -> list[str]:
    return [addr for _name, addr in email.utils.getaddresses(values) if "@" in addr]


@dataclass(frozen=True, slots=True)
class EnvelopeRewrite:
    """How to choose the envelope of a relayed message (see the module docstring)."""

    sender: str | None = None
    recipients: tuple[str, ...] = ()
    recipient_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keep_recipients: bool = False

    def envelope(self, account: str | None, raw: bytes) -> Envelope:
        """The envelope for ``raw`` from ``account``.

        Raises:
            PermanentError: no recipient can be decided (retrying would not help).
        """
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        recipients = targets_for(self.recipient_map, account) or self.recipients
        if not recipients and self.keep_recipients:
            recipients = tuple(
                _addresses([str(v) for h in ("to", "cc", "bcc") for v in message.get_all(h, [])])
            )
        if not recipients:
            raise PermanentError(f"no envelope recipient for a message of {account!r}")
        sender = self.sender
        if sender is None:
            found = _addresses([str(v) for v in message.get_all("return-path", [])])
            found = found or _addresses([str(v) for v in message.get_all("from", [])])
            sender = found[0] if found else ""
        return Envelope(sender, tuple(recipients))


class SmtpRelay:
    """Relay :class:`NewMail` (fetched with ``raw``) to one SMTP server; the runner's handler.

    Args:
        hostname: the SMTP server.
        port: its port (25, 587 with ``start_tls``, 465 with ``use_tls``).
        rewrite: envelope rules.
        username: SMTP AUTH login, if the server wants one.
        password: SMTP AUTH password.
        use_tls: implicit TLS (port 465).
        start_tls: ``True`` requires STARTTLS, ``False`` never, ``None`` when offered.
        tls_context: TLS settings (default: verify against the system store).
        timeout_s: limit for each SMTP step.
        retry: retry policy for transient failures.
        dead_letter: where final failures go; ``None`` makes them raise (no ack).
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        *,
        rewrite: EnvelopeRewrite | None = None,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool | None = None,
        tls_context: ssl.SSLContext | None = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        dead_letter: DeadLetterFile | None = None,
    ) -> None:
        self.hostname = hostname
        self.port = port
        self.rewrite = rewrite or EnvelopeRewrite()
        self.username = username
        self.password = password
        self.use_tls = use_tls
        self.start_tls = start_tls
        self.tls_context = tls_context
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.dead_letter = dead_letter
        self.relayed = 0
        """How many messages the SMTP server accepted."""

    async def _send_once(self, raw: bytes, envelope: Envelope) -> None:
        client = aiosmtplib.SMTP(
            hostname=self.hostname, port=self.port, username=self.username,
            password=self.password, use_tls=self.use_tls, start_tls=self.start_tls,
            tls_context=self.tls_context, timeout=self.timeout_s,
        )
        try:
            async with client:
                if envelope.sender:
                    await client.sendmail(envelope.sender, list(envelope.recipients), raw)
                else:
                    # aiosmtplib cannot send the null reverse-path (it refuses an empty
                    # sender), so MAIL FROM:<> is sent by hand (RFC 5321 §4.5.5) — after the
                    # EHLO that sendmail() would have sent (none yet when STARTTLS was off).
                    if client.is_ehlo_or_helo_needed:
                        await client.ehlo()
                    reply = await client.execute_command(b"MAIL", b"FROM:<>")
                    if reply.code != 250:
                        raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, "<>")
                    for recipient in envelope.recipients:
                        await client.rcpt(recipient)
                    await client.data(raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            error = f"SMTP {self.hostname}: recipients refused {codes}"
            if all(code >= 500 for code in codes):
                raise PermanentError(error) from exc
            raise DeliveryError(error) from exc
        except aiosmtplib.SMTPResponseException as exc:
            error = f"SMTP {self.hostname}: {exc.code} {exc.message}"
            if exc.code >= 500:
                raise PermanentError(error) from exc
            raise DeliveryError(error) from exc
        except aiosmtplib.SMTPException as exc:  # connect errors, timeouts, server gone
            raise DeliveryError(f"SMTP {self.hostname}: {exc}") from exc

    async def deliver(self, mail: NewMail) -> bool:
        """Relay ``mail``; ``True`` if accepted, ``False`` if dead-lettered.

        Raises:
            DeliveryError: it finally failed and there is no dead-letter file.
            ValueError: ``mail`` was fetched without ``raw``.
            OSError: the dead-letter file cannot be written.
        """
        text = mail.raw
        if text is None:
            raise ValueError(f"{mail.message_id} was fetched without 'raw'")
        raw = text.encode("utf-8", "surrogateescape")
        try:
            envelope = self.rewrite.envelope(mail.account, raw)
            await deliver_with_retries(
                lambda: self._send_once(raw, envelope), self.retry, what=f"relay {mail.key}"
            )
        except DeliveryError as exc:
            if self.dead_letter is None:
                raise
            logger.error("relay of %s failed for good, dead-lettered: %s", mail.key, exc)
            record = {"id": mail.key, "account": mail.account, "messageId": mail.message_id,
                      "eventId": mail.event_id, "raw": text}
            await self.dead_letter.write(record, str(exc))
            return False
        self.relayed += 1
        return True

    async def __call__(self, mail: NewMail) -> None:
        """The runner's handler: relay (or dead-letter) the event, raise if neither."""
        await self.deliver(mail)
