"""The JMAP error tree: each class knows its RFC type string and builds its own JSON.

JMAP reports failures at three levels, and each has its own base class::

    SwitchboardError
     └── JmapError                          (abstract)
          ├── RequestError                  RFC 8620 §3.6.1, a problem details document
          │    ├── UnknownCapability        urn:ietf:params:jmap:error:unknownCapability
          │    ├── NotJson                  urn:ietf:params:jmap:error:notJSON
          │    ├── NotRequest               urn:ietf:params:jmap:error:notRequest
          │    └── Limit                    urn:ietf:params:jmap:error:limit (+ "limit")
          ├── MethodError                   RFC 8620 §3.6.2, an ["error", {...}, callId] reply
          │    ├── any method: ServerUnavailable, ServerFail, ServerPartialFail, UnknownMethod,
          │    │   InvalidArguments, InvalidResultReference, Forbidden, AccountNotFound,
          │    │   AccountNotSupportedByMethod, AccountReadOnly
          │    └── named methods: RequestTooLarge (/get, /set), StateMismatch (/set),
          │        CannotCalculateChanges (/changes, /queryChanges), AnchorNotFound,
          │        UnsupportedSort, UnsupportedFilter (/query), TooManyChanges
          │        (/queryChanges), FromAccountNotFound, FromAccountNotSupportedByMethod (/copy)
          └── SetError                      RFC 8620 §5.3 and RFC 8621, one object of a /set
               └── SetForbidden, SetOverQuota, SetTooLarge, SetRateLimit, SetNotFound,
                   SetInvalidPatch, SetWillDestroy, SetInvalidProperties (+ "properties"),
                   SetSingleton, SetAlreadyExists (+ "existingId"), SetMailboxHasChild,
                   SetMailboxHasEmail, SetBlobNotFound (+ "notFound"), SetTooManyKeywords,
                   SetTooManyMailboxes

A request-level error refuses the whole HTTP request (status 400, body
:meth:`RequestError.problem`, Content-Type :data:`PROBLEM_CONTENT_TYPE`), or on a WebSocket
becomes a ``RequestError`` message. A method error replaces that one call's response. A
SetError goes into ``notCreated``/``notUpdated``/``notDestroyed`` for that one object.
"""

# Class names mirror the RFC type strings (NotJson ⇔ notJSON), which reads better than an
# Error suffix on each.
# ruff: noqa: N818

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar, Final, TypeVar

from switchboard.errors import SwitchboardError
from switchboard.jmap.jsonvalue import JsonObject, JsonValue

__all__ = [
    "METHOD_ERROR_TYPES",
    "PROBLEM_CONTENT_TYPE",
    "REQUEST_ERROR_TYPES",
    "SET_ERROR_TYPES",
    "AccountNotFound",
    "AccountNotSupportedByMethod",
    "AccountReadOnly",
    "AnchorNotFound",
    "CannotCalculateChanges",
    "Forbidden",
    "FromAccountNotFound",
    "FromAccountNotSupportedByMethod",
    "InvalidArguments",
    "InvalidResultReference",
    "JmapError",
    "Limit",
    "MethodError",
    "NotJson",
    "NotRequest",
    "RequestError",
    "RequestTooLarge",
    "ServerFail",
    "ServerPartialFail",
    "ServerUnavailable",
    "SetAlreadyExists",
    "SetBlobNotFound",
    "SetError",
    "SetForbidden",
    "SetInvalidPatch",
    "SetInvalidProperties",
    "SetMailboxHasChild",
    "SetMailboxHasEmail",
    "SetNotFound",
    "SetOverQuota",
    "SetRateLimit",
    "SetSingleton",
    "SetTooLarge",
    "SetTooManyKeywords",
    "SetTooManyMailboxes",
    "SetWillDestroy",
    "StateMismatch",
    "TooManyChanges",
    "UnknownCapability",
    "UnknownMethod",
    "UnsupportedFilter",
    "UnsupportedSort",
    "describe",
]

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
"""RFC 7807 §6.1: the media type of a problem details document. jmap-jam parses an error
body as JSON only when its Content-Type contains ``json``, which this does."""

_URN: Final = "urn:ietf:params:jmap:error:"


class JmapError(SwitchboardError):
    """Base of every JMAP error; never raised itself.

    Attributes:
        type: the RFC type string (a class attribute, one per subclass).
        description: optional human-readable detail for the client.
    """

    # Narrows SwitchboardError.type (str | None): a JMAP error always has its type string.
    type: str
    _abstract: ClassVar[bool] = True

    def __init__(self, description: str | None = None) -> None:
        if type(self).__dict__.get("_abstract", False):
            raise TypeError(f"{type(self).__name__} is abstract; raise one of its subclasses")
        super().__init__(description or self.type)
        self.description = description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


# ---------------------------------------------------------------------------------------------
# Request level (RFC 8620 §3.6.1)


class RequestError(JmapError):
    """The whole request is refused: answered with an RFC 7807 problem details document.

    Attributes:
        status: the HTTP status code (400 for every type RFC 8620 defines).
    """

    _abstract = True
    status: ClassVar[int] = 400

    def extra(self) -> JsonObject:
        """Members a subclass adds to the problem document (``limit`` for :class:`Limit`)."""
        return {}

    def problem(self) -> JsonObject:
        """The problem details document: ``type``, ``status``, ``detail`` and any extra."""
        doc: JsonObject = {"type": self.type, "status": self.status}
        doc.update(self.extra())
        doc["detail"] = self.description or self.default_detail()
        return doc

    def default_detail(self) -> str:
        """A sentence for ``detail`` when none was given (the class docstring's first line)."""
        return (type(self).__doc__ or self.type).strip().splitlines()[0]


class UnknownCapability(RequestError):
    """The request's "using" names a capability this server does not support."""

    type = _URN + "unknownCapability"


class NotJson(RequestError):
    """The request is not I-JSON (or its Content-Type is not application/json)."""

    type = _URN + "notJSON"


class NotRequest(RequestError):
    """The request is JSON but does not have the type signature of a Request object."""

    type = _URN + "notRequest"


class Limit(RequestError):
    """The request exceeds one of the limits announced in the core capability.

    Attributes:
        limit: the name of the limit, e.g. ``"maxSizeRequest"`` or ``"maxCallsInRequest"``.
    """

    type = _URN + "limit"

    def __init__(self, limit: str, description: str | None = None) -> None:
        super().__init__(description)
        self.limit = limit

    def extra(self) -> JsonObject:
        """RFC 8620 §3.6.1: a limit error names its limit in ``limit``."""
        return {"limit": self.limit}

    def default_detail(self) -> str:
        """Name the limit in the sentence too."""
        return f"The request exceeds the server's {self.limit}."


# ---------------------------------------------------------------------------------------------
# Method level (RFC 8620 §3.6.2 and the method sections of §5)


class MethodError(JmapError):
    """One method call failed: its response is ``["error", {"type", "description"?}, callId]``."""

    _abstract = True

    def arguments(self) -> JsonObject:
        """The error response's arguments object."""
        args: JsonObject = {"type": self.type}
        if self.description is not None:
            args["description"] = self.description
        return args

    def invocation(self, call_id: str) -> tuple[str, JsonObject, str]:
        """The whole error response for the call ``call_id``."""
        return ("error", self.arguments(), call_id)


class ServerUnavailable(MethodError):
    """A resource we need (the IMAP server) is temporarily unavailable; retry later."""

    type = "serverUnavailable"


class ServerFail(MethodError):
    """An unexpected error; nothing was changed."""

    type = "serverFail"


class ServerPartialFail(MethodError):
    """Some but not all changes were made; the client should resynchronise."""

    type = "serverPartialFail"


class UnknownMethod(MethodError):
    """The method is unknown, or its capability is not in the request's "using"."""

    type = "unknownMethod"


class InvalidArguments(MethodError):
    """An argument is missing, of the wrong type, or has an invalid value."""

    type = "invalidArguments"


class InvalidResultReference(MethodError):
    """A result reference (an argument starting with #) could not be resolved."""

    type = "invalidResultReference"


class Forbidden(MethodError):
    """The caller may not perform this method call."""

    type = "forbidden"


class AccountNotFound(MethodError):
    """The accountId is not an account the caller can reach."""

    type = "accountNotFound"


class AccountNotSupportedByMethod(MethodError):
    """The account exists but does not support this method's data type."""

    type = "accountNotSupportedByMethod"


class AccountReadOnly(MethodError):
    """The method would modify state and the account is read-only."""

    type = "accountReadOnly"


class RequestTooLarge(MethodError):
    """A /get or /set names more objects than maxObjectsInGet / maxObjectsInSet."""

    type = "requestTooLarge"


class StateMismatch(MethodError):
    """A /set's ifInState does not match the current state."""

    type = "stateMismatch"


class CannotCalculateChanges(MethodError):
    """The server cannot calculate the changes from the state the client gave."""

    type = "cannotCalculateChanges"


class AnchorNotFound(MethodError):
    """A /query's anchor is not in the results."""

    type = "anchorNotFound"


class UnsupportedSort(MethodError):
    """A /query's sort names a property or collation the server cannot sort by."""

    type = "unsupportedSort"


class UnsupportedFilter(MethodError):
    """A /query's filter is valid but the server cannot process it."""

    type = "unsupportedFilter"


class TooManyChanges(MethodError):
    """A /queryChanges would return more changes than the client's maxChanges."""

    type = "tooManyChanges"


class FromAccountNotFound(MethodError):
    """A /copy's fromAccountId is not an account the caller can reach."""

    type = "fromAccountNotFound"


class FromAccountNotSupportedByMethod(MethodError):
    """A /copy's fromAccountId does not support this data type."""

    type = "fromAccountNotSupportedByMethod"


# ---------------------------------------------------------------------------------------------
# Per object in a /set (RFC 8620 §5.3, RFC 8621 §2.5 and §4.6)


class SetError(JmapError):
    """One object of a /set was not created, updated or destroyed."""

    _abstract = True

    def extra(self) -> JsonObject:
        """Members a subclass adds (``properties``, ``existingId``, ``notFound``)."""
        return {}

    def to_json(self) -> JsonObject:
        """The SetError object: ``type``, any extra members, ``description`` if given."""
        doc: JsonObject = {"type": self.type}
        doc.update(self.extra())
        if self.description is not None:
            doc["description"] = self.description
        return doc


class SetForbidden(SetError):
    """The action would violate an ACL or other permission."""

    type = "forbidden"


class SetOverQuota(SetError):
    """The action would take the account over quota."""

    type = "overQuota"


class SetTooLarge(SetError):
    """The object would be larger than the server allows."""

    type = "tooLarge"


class SetRateLimit(SetError):
    """Too many objects of this type were created recently."""

    type = "rateLimit"


class SetNotFound(SetError):
    """The id to update or destroy does not exist."""

    type = "notFound"


class SetInvalidPatch(SetError):
    """The PatchObject of an update is invalid."""

    type = "invalidPatch"


class SetWillDestroy(SetError):
    """The object was both updated and destroyed in the same /set; the update is skipped."""

    type = "willDestroy"


class SetInvalidProperties(SetError):
    """Some properties have invalid values; they are listed in ``properties``."""

    type = "invalidProperties"

    def __init__(self, properties: Sequence[str] = (), description: str | None = None) -> None:
        super().__init__(description)
        self.properties = tuple(properties)

    def extra(self) -> JsonObject:
        """RFC 8620 §5.3: the invalid property names, when known."""
        return {"properties": list(self.properties)} if self.properties else {}


class SetSingleton(SetError):
    """The type is a singleton; it cannot be created or destroyed."""

    type = "singleton"


class SetAlreadyExists(SetError):
    """A /copy or /import would duplicate an existing object, named in ``existingId``."""

    type = "alreadyExists"

    def __init__(self, existing_id: str, description: str | None = None) -> None:
        super().__init__(description)
        self.existing_id = existing_id

    def extra(self) -> JsonObject:
        """RFC 8620 §5.4: the id of the existing object."""
        return {"existingId": self.existing_id}


class SetMailboxHasChild(SetError):
    """RFC 8621 §2.5: a Mailbox with child Mailboxes cannot be destroyed."""

    type = "mailboxHasChild"


class SetMailboxHasEmail(SetError):
    """RFC 8621 §2.5: the Mailbox has Emails and onDestroyRemoveEmails is false."""

    type = "mailboxHasEmail"


class SetBlobNotFound(SetError):
    """RFC 8621 §4.6: blobs referenced by the new Email do not exist (listed in ``notFound``)."""

    type = "blobNotFound"

    def __init__(self, not_found: Sequence[str], description: str | None = None) -> None:
        super().__init__(description)
        self.not_found = tuple(not_found)

    def extra(self) -> JsonObject:
        """RFC 8621 §4.6: the blob ids that were not found."""
        return {"notFound": list(self.not_found)}


class SetTooManyKeywords(SetError):
    """RFC 8621 §4.6: the Email would have more keywords than the server allows."""

    type = "tooManyKeywords"


class SetTooManyMailboxes(SetError):
    """RFC 8621 §4.6: the Email would be in more Mailboxes than the server allows."""

    type = "tooManyMailboxes"


_E = TypeVar("_E", bound=JmapError)


def _concrete(base: type[_E]) -> Mapping[str, type[_E]]:
    found: dict[str, type[_E]] = {}
    stack: list[type[_E]] = list(base.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls.__dict__.get("_abstract", False):
            found[cls.type] = cls
    return MappingProxyType(found)


REQUEST_ERROR_TYPES: Final = _concrete(RequestError)
"""Every request-level error class by its type URN."""

METHOD_ERROR_TYPES: Final = _concrete(MethodError)
"""Every method-level error class by its type string."""

SET_ERROR_TYPES: Final = _concrete(SetError)
"""Every SetError class by its type string."""


def describe(value: JsonValue, limit: int = 60) -> str:
    """A short, safe rendering of a client value for an error description."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
