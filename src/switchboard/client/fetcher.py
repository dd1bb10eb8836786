"""``Fetcher``, the 0.1.3 client that fetches every new message and calls ``received_new(msg)``.

On each ``newMessage`` push the fetcher sends ``getMessages`` for the pushed ``messageId`` with
``properties: ["raw"]`` (and the push's ``account``, present on ``/workers``), parses the raw
text with ``email.policy.default`` and calls ``received_new`` on the reader thread. Error replies
and failures are logged and skipped; they never stop the reader thread. A push is acknowledged
once ``received_new`` returned for it without raising.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import logging

from switchboard.client.errors import ConnectionClosed
from switchboard.client.session import Push, Pushes
from switchboard.client.threaded import Client
from switchboard.protocol.replies import NewMessagePush, message_items
from switchboard.protocol.wirejson import JsonObject, JsonValue

__all__ = ["Fetcher", "raw_request"]

logger = logging.getLogger("switchboard")


def raw_request(push: NewMessagePush) -> JsonObject:
    """The ``getMessages`` arguments that fetch a pushed message's raw source."""
    args: JsonObject = {"ids": [push.message_id], "properties": ["raw"]}
    if push.account is not None:
        args = {"account": push.account, **args}
    return args


class Fetcher(Client):
    """A client that fetches every new message and hands it to :meth:`received_new`.

    Takes the arguments of :class:`~switchboard.client.threaded.Client`.
    """

    def _handle_pushes(self, pushes: Pushes) -> bool:
        """Hand a push frame to ``received_unsolicited``, which fetches; acknowledge later."""
        self._shell.call_hook(self.received_unsolicited, pushes.to_json())
        return False  # each event is acknowledged once received_new returned for it

    def received_unsolicited(self, resps: list[list[JsonValue]]) -> None:
        """Fetch each ``newMessage`` of the frame; log anything else."""
        for resp in resps:
            name = resp[0] if resp else None
            push = Push(name, resp[1]) if isinstance(name, str) and len(resp) >= 2 else None
            if push is not None and push.new_message is not None:
                self._fetch(push.new_message)
            else:
                logger.info("unsolicited: %r", resp)

    def received_new(self, msg: email.message.Message) -> None:
        """Handle one new message (an ``email.message.EmailMessage``); override this.

        Raises:
            NotImplementedError: always, unless overridden.
        """
        raise NotImplementedError("override Fetcher.received_new(msg)")

    def _fetch(self, push: NewMessagePush) -> None:
        try:
            promise = self.send_cmds(("getMessages", raw_request(push)))
        except ConnectionClosed as exc:
            logger.warning("cannot fetch %s: %s", push.message_id, exc)
            return
        promise.then(lambda reply: self._received(reply[1], push.event_id)).catch(_failed)

    def _received(self, resps: list[list[JsonValue]], event_id: int | None) -> None:
        handled = False
        for resp in resps:
            if len(resp) < 2 or resp[0] != "messages":
                logger.warning("getMessages failed: %r", resp)
                continue
            for item in message_items(resp[1]):
                raw = item.get("raw")
                if not isinstance(raw, str):
                    logger.warning("getMessages returned no raw text: %.200r", item)
                    continue
                self.received_new(email.message_from_string(raw, policy=email.policy.default))
                handled = True
        if handled and event_id is not None:
            self.ack(event_id)  # received_new returned: the message was handled


def _failed(reason: object) -> None:
    if isinstance(reason, BaseException):
        logger.error("handling a new message failed", exc_info=reason)
    else:
        logger.error("handling a new message failed: %r", reason)
