"""The JMAP Session resource (RFC 8620 §2), served at ``/.well-known/jmap``.

How it works: :class:`Session` holds what the resource says — the caller's accounts, the
capabilities with their limits, the endpoint URLs — and :meth:`Session.to_json` renders it with
a ``state`` computed from everything else, so the state changes exactly when the content does
(§2: a client compares it with a response's ``sessionState`` to know when to refetch; jmapc
refetches the Session whenever they differ).

The four URLs are RFC 6570 level-1 templates with fixed variable names. Both client
libraries we test against substitute the variables by plain text replacement, and jmap-jam
throws when a template lacks one of them, so :class:`Endpoints` insists on exactly the
variables §2 defines, and on absolute http(s) URLs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

from switchboard.jmap.capabilities import (
    CORE,
    MAIL,
    SUBMISSION,
    WEBSOCKET,
    CoreCapability,
    MailCapability,
    WebSocketCapability,
)
from switchboard.jmap.datatypes import is_valid_id
from switchboard.jmap.jsonvalue import JsonObject, dumps

__all__ = [
    "TEMPLATE_VARIABLES",
    "Account",
    "Endpoints",
    "Session",
    "expand_template",
]

TEMPLATE_VARIABLES: Final[Mapping[str, frozenset[str]]] = {
    "apiUrl": frozenset(),
    "downloadUrl": frozenset({"accountId", "blobId", "type", "name"}),
    "uploadUrl": frozenset({"accountId"}),
    "eventSourceUrl": frozenset({"types", "closeafter", "ping"}),
}
"""RFC 8620 §2: the variables each URL template must contain (and the only ones it may)."""

_VARIABLE: Final = re.compile(r"\{([^{}]*)\}")


def _template_variables(template: str) -> set[str]:
    found = set(_VARIABLE.findall(template))
    if "{" in _VARIABLE.sub("", template) or "}" in _VARIABLE.sub("", template):
        raise ValueError(f"stray brace in URL template {template!r}")
    return found


def expand_template(template: str, **values: str) -> str:
    """Expand a level-1 URI template (RFC 6570 §3.2.2): each value percent-encoded.

    Raises:
        KeyError: the template names a variable with no value.
    """
    return _VARIABLE.sub(lambda match: quote(values[match.group(1)], safe=""), template)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The Session's URLs.

    Raises:
        ValueError: a URL is not absolute http(s), or a template does not hold exactly the
            variables of :data:`TEMPLATE_VARIABLES`.
    """

    api_url: str
    download_url: str
    upload_url: str
    event_source_url: str

    def __post_init__(self) -> None:
        for name, url in self.as_json().items():
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"{name} must be an absolute http(s) URL, not {url!r}")
            if _template_variables(url) != TEMPLATE_VARIABLES[name]:
                expected = ", ".join(sorted(TEMPLATE_VARIABLES[name])) or "none"
                raise ValueError(f"{name} must have the variables {expected}: {url!r}")

    @classmethod
    def under(cls, base_url: str, prefix: str = "/jmap") -> Endpoints:
        """The standard layout below ``base_url`` (``https://host:port``, no trailing slash).

        The download name goes last in the path and the type in the query, as in RFC 8620's
        example, so a file name holding ``/`` (clients do not encode it) cannot shift the
        account or blob segment.
        """
        root = base_url.rstrip("/") + prefix
        return cls(
            api_url=f"{root}/api",
            download_url=f"{root}/download/{{accountId}}/{{blobId}}/{{name}}?type={{type}}",
            upload_url=f"{root}/upload/{{accountId}}",
            event_source_url=(
                f"{root}/eventsource?types={{types}}&closeafter={{closeafter}}&ping={{ping}}"
            ),
        )

    def as_json(self) -> dict[str, str]:
        """The four members as the Session names them."""
        return {
            "apiUrl": self.api_url,
            "downloadUrl": self.download_url,
            "uploadUrl": self.upload_url,
            "eventSourceUrl": self.event_source_url,
        }


@dataclass(frozen=True, slots=True)
class Account:
    """One JMAP account: here, one Switchboard (IMAP) account the caller may reach.

    Attributes:
        account_id: the JMAP id (:func:`~switchboard.jmap.ids.account_id`).
        name: a user-friendly name, the IMAP username.
        is_personal: the account belongs to the authenticated user.
        is_read_only: the whole account is read-only.
        mail: the account's mail capability.
        submission: the account has the submission capability (Identity/get).

    Raises:
        ValueError: ``account_id`` is not a valid Id.
    """

    account_id: str
    name: str
    is_personal: bool = True
    is_read_only: bool = False
    mail: MailCapability = field(default_factory=MailCapability)
    submission: bool = False

    def __post_init__(self) -> None:
        if not is_valid_id(self.account_id):
            raise ValueError(f"{self.account_id!r} is not a JMAP Id")

    def to_json(self) -> JsonObject:
        """The Account object (RFC 8620 §2)."""
        return {
            "name": self.name,
            "isPersonal": self.is_personal,
            "isReadOnly": self.is_read_only,
            "accountCapabilities": {
                MAIL: self.mail.to_json(),
                # RFC 8621 §1.3.2: no delayed sending, no SMTP extensions (nothing is sent).
                **({SUBMISSION: {"maxDelayedSend": 0, "submissionExtensions": {}}}
                   if self.submission else {}),
            },
        }


@dataclass(frozen=True, slots=True)
class Session:
    """The Session resource for one authenticated caller.

    Attributes:
        username: the name the caller authenticated as.
        accounts: the accounts the caller may reach.
        primary_account_id: the account for ``primaryAccounts``, or ``None`` when the caller
            has no account (then primaryAccounts is empty).
        endpoints: the URLs.
        core: the core limits.
        websocket: the WebSocket capability, or ``None`` when JMAP over WebSocket is off.
        submission: ``urn:ietf:params:jmap:submission`` is served (for Identity/get).

    Raises:
        ValueError: the primary account is not among the accounts, or two accounts share an
            id.
    """

    username: str
    accounts: tuple[Account, ...]
    primary_account_id: str | None
    endpoints: Endpoints
    core: CoreCapability = field(default_factory=CoreCapability)
    websocket: WebSocketCapability | None = None
    submission: bool = False

    def __post_init__(self) -> None:
        ids = [account.account_id for account in self.accounts]
        if len(set(ids)) != len(ids):
            raise ValueError("two accounts share an id")
        if self.primary_account_id is not None and self.primary_account_id not in ids:
            raise ValueError(f"primary account {self.primary_account_id!r} is not listed")

    @property
    def capabilities(self) -> frozenset[str]:
        """The capability URNs served; what a request may put in ``using``."""
        urns = {CORE, MAIL}
        if self.websocket is not None:
            urns.add(WEBSOCKET)
        if self.submission:
            urns.add(SUBMISSION)
        return frozenset(urns)

    def _content(self) -> JsonObject:
        capabilities: JsonObject = {CORE: self.core.to_json(), MAIL: {}}
        if self.websocket is not None:
            capabilities[WEBSOCKET] = self.websocket.to_json()
        if self.submission:
            capabilities[SUBMISSION] = {}
        primary: JsonObject = {}
        if self.primary_account_id is not None:
            # jmapc reads primaryAccounts[core] then [mail]; jmap-jam reads [mail].
            primary[MAIL] = self.primary_account_id
            if self.submission:
                primary[SUBMISSION] = self.primary_account_id
        return {
            "capabilities": capabilities,
            "accounts": {a.account_id: a.to_json() for a in self.accounts},
            "primaryAccounts": primary,
            "username": self.username,
            **self.endpoints.as_json(),
        }

    @property
    def state(self) -> str:
        """A digest of the content: it changes when and only when the content changes."""
        # Keys sorted at every level, so the digest does not depend on the accounts' order.
        canonical = dumps(_sorted(self._content()), ascii_only=True)
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]

    def to_json(self) -> JsonObject:
        """The Session resource, ``state`` included."""
        doc = self._content()
        doc["state"] = self.state
        return doc


def _sorted(value: JsonObject) -> JsonObject:
    return {
        key: _sorted(item) if isinstance(item, dict) else item
        for key, item in sorted(value.items())
    }
