"""Identity/get (RFC 8621 §6.1): one identity per account, from the account's address.

The identity's ``email`` is the IMAP username when it is an address (holds an ``@``), else
``""``; ``name`` and the signatures are empty, and it cannot be deleted. Serving Identity/get
means announcing ``urn:ietf:params:jmap:submission`` (both jmapc and jmap-jam put it in
``using`` for Identity methods); EmailSubmission is not served, each of its methods is
``unknownMethod``. Identities never change, so their state is a constant.
"""

from __future__ import annotations

from typing import Final

from switchboard.jmap.arguments import parse_get
from switchboard.jmap.dispatch import MethodCall, MethodResult
from switchboard.jmap.jsonvalue import JsonValue
from switchboard.server.jmap.mailbase import MailServices, get_result, returned_properties
from switchboard.server.jmap.registry import CallContext

__all__ = ["IDENTITY_PROPERTIES", "IDENTITY_STATE", "IdentityMethods", "identity_id"]

IDENTITY_PROPERTIES: Final = ("id", "name", "email", "replyTo", "bcc", "textSignature",
                              "htmlSignature", "mayDelete")  # fmt: skip
IDENTITY_STATE: Final = "0"
"""The state of every account's identities: they never change."""


def identity_id(jmap_account_id: str) -> str:
    """The id of an account's one identity: ``i`` + the account id's body."""
    return "i" + jmap_account_id[1:]


class IdentityMethods:
    """Identity/get for the accounts of :class:`MailServices`."""

    def __init__(self, services: MailServices) -> None:
        self._services = services

    async def get(self, call: MethodCall, context: CallContext) -> MethodResult:
        """Identity/get: the account's one identity."""
        args = parse_get(
            call.arguments, max_objects=self._services.core.max_objects_in_get,
            properties=IDENTITY_PROPERTIES, created_ids=call.created_ids,
        )  # fmt: skip
        username = context.account(args.account_id)
        identity: dict[str, JsonValue] = {
            "id": identity_id(args.account_id),
            "name": "",
            "email": username if "@" in username else "",
            "replyTo": None,
            "bcc": None,
            "textSignature": "",
            "htmlSignature": "",
            "mayDelete": False,
        }
        properties = returned_properties(args.properties, IDENTITY_PROPERTIES)
        listed: list[dict[str, JsonValue]] = []
        not_found: list[str] = []
        if args.ids is None or identity["id"] in args.ids:
            listed.append({name: identity[name] for name in properties})
        if args.ids is not None:
            not_found = [i for i in dict.fromkeys(args.ids) if i != identity["id"]]
        return get_result("Identity/get", args.account_id, IDENTITY_STATE, listed, not_found)
