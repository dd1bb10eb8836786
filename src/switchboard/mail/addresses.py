"""RFC 5322 address lists: parse them from header bytes, render them for the wire and for people.

How it works:

* **Parsing** (:func:`parse_addresses`) is lenient, like an IMAP server building an ENVELOPE
  (RFC 3501 §7.4.2) — the values match Dovecot's for well-formed headers:

  - A value is tokenized into words (atoms, quoted strings), comments (nested), domain
    literals and specials. Commas and semicolons outside ``<…>`` end an address; a colon
    outside ``<…>`` before any ``@`` or ``<`` starts a group, whose members are kept and whose
    name is dropped (groups are flattened; ``undisclosed-recipients:;`` gives no address).
  - ``Name <mailbox@host>``: the display name is the words before ``<``, comments dropped,
    quoted strings unquoted, each run of whitespace one space (RFC 5322 obs-phrase dots
    kept: ``John Q. Public``). A source route (``<@a,@b:x@y>``) is dropped.
  - ``mailbox@host (Comment)``: without a display name, the last comment after the address
    names it, as IMAP servers do.
  - ``mailbox`` with no ``@`` keeps ``host`` ``None`` (rendered ``mailbox@``); an address
    with neither mailbox nor host (``<>``, an empty list element) is dropped.
  - Names stay bytes, RFC 2047 words undecoded: the wire shows them raw and adds the decoded
    form next to them.

* **Rendering**: :func:`address_objects` gives the wire's ``{"name", "email"}`` objects, with
  ``decodedName`` only when decoding changes the name; :func:`format_address` gives
  ``Name <mailbox@host>`` for people (the push summary's sender).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, NamedTuple

from switchboard.mail.headers import decoded_text, humanize, raw_text

__all__ = [
    "Address",
    "address_objects",
    "email_of",
    "first_address",
    "format_address",
    "parse_address_list",
    "parse_addresses",
]


class Address(NamedTuple):
    """One mailbox of an address list: display name, local part, domain (all raw bytes).

    ``name`` is ``None`` without a display name; ``host`` is ``None`` when the address has no
    ``@``; ``mailbox`` is ``None`` when nothing precedes the ``@``. A named tuple rather than a
    dataclass: one is built for every address of every new message's summary, and a tuple is
    built three times faster.
    """

    name: bytes | None
    mailbox: bytes | None
    host: bytes | None


# Token kinds.
_WORD: Final = 0  # an atom or a quoted string (unquoted)
_SPECIAL: Final = 1  # one of < > @ , ; : .
_COMMENT: Final = 2  # (…), its text
_LITERAL: Final = 3  # [...], brackets kept

# One token at a position; comments are scanned by hand (they nest).
_TOKEN: Final = re.compile(
    rb"""(?P<ws>[ \t\r\n]+)
    |(?P<atom>[^ \t\r\n()<>@,;:\\".\[\]]+)
    |(?P<quoted>"(?:[^"\\]|\\.)*(?:"|\Z))
    |(?P<literal>\[(?:[^\]\\]|\\.)*(?:\]|\Z))
    |(?P<special>[<>@,;:.])
    |(?P<other>[^(])
    """,
    re.VERBOSE | re.DOTALL,
)
_QUOTED_PAIR: Final = re.compile(rb"\\(.)", re.DOTALL)

# The shapes nearly every real address list has — ``a@b``, ``Name <a@b>``, ``"Name" <a@b>``,
# separated by commas, without comments, groups, routes, quoted pairs or domain literals — are
# read by one match per address (no RFC 5322 special outside a quoted name). The tokenizer
# gives the same result for them (a name of atoms, dots and whitespace is its text with
# whitespace runs made one space); anything else goes through it.
_SIMPLE_ADDRESS: Final = re.compile(
    rb"""[ \t]*(?:
        (?:"(?P<quoted>[^"\\]*)"[ \t]*|(?P<name>[^"<>@,()\\:;\[\]]*))  # humanize trims the name
        <(?P<local>[^\s"<>@,()\\:;\[\]]+)@(?P<domain>[^\s"<>@,()\\:;\[\]]+)>
        |(?P<bare_local>[^\s"<>@,()\\:;\[\]]+)@(?P<bare_domain>[^\s"<>@,()\\:;\[\]]+)
    )[ \t]*\Z""",
    re.VERBOSE,
)

# A token: kind, text, whether whitespace or a comment came before it.
_Token = tuple[int, bytes, bool]


def _comment_end(value: bytes, start: int) -> int:
    """The index after the ``)`` closing the comment that opens at ``start`` (or the end)."""
    depth = 0
    index = start
    length = len(value)
    while index < length:
        char = value[index]
        if char == 0x5C:  # backslash: a quoted pair (RFC 5322 §3.2.1)
            index += 2
            continue
        if char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return length


def _tokenize(value: bytes) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    spaced = False
    length = len(value)
    while position < length:
        if value[position] == 0x28:  # "(": a comment, possibly nested
            end = _comment_end(value, position)
            inner = value[position + 1 : end - 1 if value[end - 1 : end] == b")" else end]
            tokens.append((_COMMENT, _QUOTED_PAIR.sub(rb"\1", inner), spaced))
            position, spaced = end, True
            continue
        match = _TOKEN.match(value, position)
        assert match is not None  # "other" matches any byte but "(", handled above
        position = match.end()
        kind = match.lastgroup
        text = match.group()
        if kind == "ws":
            spaced = True
            continue
        if kind == "quoted":
            inner = text[1:-1] if len(text) > 1 and text.endswith(b'"') else text[1:]
            tokens.append((_WORD, _QUOTED_PAIR.sub(rb"\1", inner), spaced))
        elif kind == "literal":
            tokens.append((_LITERAL, text, spaced))
        elif kind == "special":
            tokens.append((_SPECIAL, text, spaced))
        else:  # an atom, or a stray ")", "\" or "]" read as one
            tokens.append((_WORD, text, spaced))
        spaced = False
    return tokens


def _phrase(tokens: Sequence[_Token]) -> bytes | None:
    """A display name from its tokens: words joined by one space, comments dropped."""
    parts: list[bytes] = []
    previous_word = False
    for kind, text, spaced in tokens:
        if kind == _COMMENT:
            continue
        is_word = kind != _SPECIAL
        if parts and (spaced or (is_word and previous_word)):
            parts.append(b" ")
        parts.append(text)
        previous_word = is_word
    name = humanize(b"".join(parts))
    return name or None


def _addr_spec(tokens: Sequence[_Token]) -> tuple[bytes | None, bytes | None]:
    """``(mailbox, host)`` of an addr-spec's tokens; ``host`` is ``None`` without an ``@``."""
    words = [(kind, text) for kind, text, _ in tokens if kind != _COMMENT]
    at = next((i for i, (kind, text) in enumerate(words) if (kind, text) == (_SPECIAL, b"@")), None)
    if at is None:
        local = b"".join(text for _, text in words)
        return local or None, None
    local = b"".join(text for _, text in words[:at])
    host = b"".join(text for _, text in words[at + 1 :])
    return local or None, host or None


def _mailbox(tokens: Sequence[_Token]) -> Address | None:
    """One address from the tokens between two separators, or ``None`` if there is none."""
    opening = next(
        (i for i, (kind, text, _) in enumerate(tokens) if (kind, text) == (_SPECIAL, b"<")), None
    )
    if opening is not None:
        inside = list(tokens[opening + 1 :])
        closing = next(
            (i for i, (kind, text, _) in enumerate(inside) if (kind, text) == (_SPECIAL, b">")),
            None,
        )
        if closing is not None:
            inside = inside[:closing]  # anything after ">" is ignored
        colons = [i for i, (kind, text, _) in enumerate(inside) if (kind, text) == (_SPECIAL, b":")]
        if colons:
            inside = inside[colons[-1] + 1 :]  # a source route (RFC 5322 §4.4 obs-route)
        mailbox, host = _addr_spec(inside)
        name = _phrase(tokens[:opening])
    else:
        mailbox, host = _addr_spec(tokens)
        first = next((i for i, token in enumerate(tokens) if token[0] != _COMMENT), None)
        comments = [text for kind, text, _ in tokens[first or 0 :] if kind == _COMMENT]
        # No display name: the last comment after the address names it, as servers do.
        name = (humanize(comments[-1]) or None) if first is not None and comments else None
    if mailbox is None and host is None:
        return None
    return Address(name, mailbox, host)


def _simple_list(value: bytes) -> list[Address] | None:
    """The addresses of a list of simple shapes only (:data:`_SIMPLE_ADDRESS`), else ``None``."""
    found: list[Address] = []
    for element in value.split(b",") if b"," in value else (value,):
        match = _SIMPLE_ADDRESS.match(element)
        if match is None:
            if element.strip(b" \t"):
                return None
            continue  # an empty list element (RFC 5322 §4.4)
        quoted, name, local, domain, bare_local, bare_domain = match.groups()
        if local is None:
            found.append(Address(None, bare_local, bare_domain))
        else:
            display = humanize(quoted if quoted is not None else name) or None
            found.append(Address(display, local, domain))
    return found


def parse_address_list(value: bytes) -> tuple[tuple[Address, ...], bool]:
    """Parse an address list header value; also say whether it named a group.

    Returns:
        The addresses, groups flattened, in order; and ``True`` when the value held group
        syntax (``name: members;``), even one without members. Never raises.
    """
    simple = _simple_list(value)
    if simple is not None:
        return tuple(simple), False
    return _parse_tokens(value)


def _parse_tokens(value: bytes) -> tuple[tuple[Address, ...], bool]:
    """:func:`parse_address_list` for any value: tokenized, RFC 5322's whole grammar."""
    addresses: list[Address] = []
    grouped = False
    element: list[_Token] = []
    in_angle = False

    def finish() -> None:
        if element:
            address = _mailbox(element)
            if address is not None:
                addresses.append(address)
            element.clear()

    for token in _tokenize(value):
        kind, text, _ = token
        if kind == _SPECIAL:
            if text == b"<":
                in_angle = True
            elif text == b">":
                in_angle = False
            elif not in_angle and text in (b",", b";"):
                finish()
                continue
            elif not in_angle and text == b":" and not _holds_address(element):
                grouped = True  # a group's name: dropped, its members follow
                element.clear()
                continue
        element.append(token)
    finish()
    return tuple(addresses), grouped


def _holds_address(tokens: Sequence[_Token]) -> bool:
    return any(kind == _SPECIAL and text in (b"@", b"<") for kind, text, _ in tokens)


def first_address(value: bytes) -> Address | None:
    """The first address of an address list header value (``None``: it has none).

    What ``parse_addresses(value)[0]`` gives, reading no further than the first address when
    the value has only simple shapes (the push summary's sender, for every new message).
    """
    for element in value.split(b",") if b"," in value else (value,):
        match = _SIMPLE_ADDRESS.match(element)
        if match is None:
            if element.strip(b" \t"):
                break  # not a simple shape: the tokenizer decides
            continue  # an empty list element
        quoted, name, local, domain, bare_local, bare_domain = match.groups()
        if local is None:
            return Address(None, bare_local, bare_domain)
        return Address(humanize(quoted if quoted is not None else name) or None, local, domain)
    found = _parse_tokens(value)[0]
    return found[0] if found else None


def parse_addresses(value: bytes) -> tuple[Address, ...]:
    """The addresses of an address list header value, groups flattened (see the module doc)."""
    return parse_address_list(value)[0]


def email_of(address: Address) -> str:
    """``mailbox@host`` as the wire shows it: raw text, ``mailbox@`` when there is no host."""
    mailbox = raw_text(address.mailbox) if address.mailbox is not None else ""
    host = raw_text(address.host) if address.host is not None else ""
    return f"{mailbox}@{host}"


def address_objects(addresses: Sequence[Address]) -> list[dict[str, str]] | None:
    """The wire's address list: ``[{"name", "email"}]`` (``decodedName`` when it differs).

    ``name`` is the raw display name (``""`` without one); ``decodedName`` its
    :func:`~switchboard.mail.headers.decoded_text`, added only when that differs, so an
    address without encoded-words or 8-bit bytes is exactly the original server's object.
    ``None`` for no addresses (never ``[]``).
    """
    if not addresses:
        return None
    out: list[dict[str, str]] = []
    for address in addresses:
        name = raw_text(address.name) if address.name is not None else ""
        item = {"name": name, "email": email_of(address)}
        if address.name is not None:
            decoded = decoded_text(address.name)
            if decoded != name:
                item["decodedName"] = decoded
        out.append(item)
    return out


def format_address(address: Address) -> str:
    """``Decoded Name <mailbox@host>``, or just ``mailbox@host`` without a name."""
    name, mailbox, host = address
    # email_of, inlined (raw_text is this decode): the push summary's hot path.
    email = (
        f"{mailbox.decode('utf-8', 'replace') if mailbox is not None else ''}@"
        f"{host.decode('utf-8', 'replace') if host is not None else ''}"
    )
    text = decoded_text(name) if name is not None else ""
    return f"{text} <{email}>" if text else email
