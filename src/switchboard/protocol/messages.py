"""Commands and responses as values: what one element of a request or reply frame means.

A command is ``[method, args]`` or ``[method, args, tag]`` (docs/protocol.md, "Frames"). The
difference between "no third element" and "a third element that is ``null``" matters on the wire —
the reply must copy it exactly — so both classes carry ``tagged`` next to ``tag``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.protocol.wirejson import JsonValue

__all__ = ["Command", "Response"]


@dataclass(frozen=True, slots=True)
class Command:
    """One command of a request frame.

    Attributes:
        method: the method name as sent (case-sensitive, not yet checked against any table).
        args: the arguments exactly as sent (usually a dict; anything JSON for a bad command).
        tag: the third element, any JSON value; ``None`` both for ``null`` and for no tag.
        tagged: whether the command had a third element. A non-``None`` ``tag`` implies it, so
            ``Command("m", {}, 5)`` is tagged without saying so.
    """

    method: str
    args: Any
    tag: Any = None
    tagged: bool = False

    def __post_init__(self) -> None:
        if self.tag is not None and not self.tagged:
            # Frozen: the only way to normalise a field is through object.__setattr__.
            object.__setattr__(self, "tagged", True)

    def to_json(self) -> list[Any]:
        """Return the command as the JSON array a client sends (2 or 3 elements)."""
        if self.tagged:
            return [self.method, self.args, self.tag]
        return [self.method, self.args]


@dataclass(frozen=True, slots=True)
class Response:
    """One response of a reply frame, or the single element of an unsolicited frame.

    Attributes:
        name: the response name (``connected``, ``mailboxes``, ``error``, ``newMessage`` …).
        args: the response object.
        tag: the echoed tag; ``None`` both for ``null`` and for an untagged response.
        tagged: whether the response has a third element; implied by a non-``None`` ``tag``.
    """

    name: str
    args: JsonValue
    tag: JsonValue = None
    tagged: bool = False

    def __post_init__(self) -> None:
        if self.tag is not None and not self.tagged:
            object.__setattr__(self, "tagged", True)

    def to_json(self) -> list[JsonValue]:
        """Return the response as a JSON array: ``[name, args]`` or ``[name, args, tag]``."""
        if self.tagged:
            return [self.name, self.args, self.tag]
        return [self.name, self.args]

    @classmethod
    def reply(cls, command: Command, name: str, args: Any) -> Response:
        """Build the response to ``command``, echoing its tag and its taggedness unchanged."""
        return cls(name, args, command.tag, command.tagged)
