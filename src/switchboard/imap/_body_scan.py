"""Read a BODYSTRUCTURE (or BODY) as servers usually write it, part by part, with regexes.

Private to :mod:`switchboard.imap._fetch_scan`. A single part is one regex match: its head
(type, subtype, parameters, id, description, encoding) as one span, which is split into its
fields only the first time that text is seen (the same few heads come back in every message),
then size, ``lines`` for ``text/*`` and the extension data (MD5, disposition, language,
location), each in a group. A multipart reads its children in turn, then its subtype and
extension data with one more match. A ``message/rfc822`` part reads its envelope with
:mod:`~switchboard.imap._envelope_scan` and its body by recursion.

Only the usual spelling is read here (``NIL`` in upper case, quoted strings without escapes,
single spaces, parameters as string pairs); anything else makes :func:`scan_body` return
``None`` and the caller reads the whole value with the generic reader and
:func:`~switchboard.imap._fetch.parse_body`, whose tolerances and errors then apply. What is
read here is interpreted exactly as ``parse_body`` interprets the same text.

See Also:
    RFC 3501 §7.4.2 (BODYSTRUCTURE), §9 (``body``, ``body-fields``, ``body-ext-1part``).
"""

from __future__ import annotations

import re

from switchboard.imap._build import make_body
from switchboard.imap._envelope_scan import read_envelope
from switchboard.imap._values import decode_text
from switchboard.imap.responses import BodyPart

__all__ = ["scan_body"]

_STRING = rb'"([^"\\]*+)"'
_NSTRING = rb'(?:NIL|"([^"\\]*+)")'
_NUMBER = rb"(?:NIL|([0-9]+))"
# Parameters, captured whole (read again with _PAIR): NIL, (), or string pairs.
_PARAMS = rb'(NIL|\((?:"[^"\\]*+" "[^"\\]*+"(?: "[^"\\]*+" "[^"\\]*+")*+)?\))'
_PAIR = re.compile(rb'"([^"\\]*)" "([^"\\]*)"')
# Disposition: NIL, or (type params); two groups.
_DISPOSITION = rb"(?:NIL|\(" + _STRING + rb" " + _PARAMS + rb"\))"
# Language: NIL, one string, or a list of strings captured whole; two groups.
_LANGUAGE = rb'(?:NIL|' + _STRING + rb'|\(("[^"\\]*+"(?: "[^"\\]*+")*+)\))'
_STRING_RE = re.compile(_STRING)
# The extension data of a single part, each field optional after the one before (RFC 3501
# body-ext-1part): MD5, disposition, language, location; six groups.
_EXTENSION = (
    rb"(?: " + _NSTRING + rb"(?: " + _DISPOSITION + rb"(?: " + _LANGUAGE + rb"(?: " + _NSTRING
    + rb")?)?)?)?"
)
# The same, capturing nothing: for a single part's head, which is captured whole.
_STRING_SPAN = rb'"[^"\\]*+"'
_NSTRING_SPAN = rb'(?:NIL|"[^"\\]*+")'
_PARAMS_SPAN = rb'(?:NIL|\((?:"[^"\\]*+" "[^"\\]*+"(?: "[^"\\]*+" "[^"\\]*+")*+)?\))'
# A text part (type "text" in any case, or NIL, which means text): its head (subtype, params,
# id, description, encoding) in one group, size, then lines and extension data. Nine groups.
# The head is read with _TEXT_HEAD only the first time its text is seen (see _TEXT_HEADS).
_TEXT_PART = re.compile(
    rb'\((?:NIL|"(?i:text)") ('
    + rb" ".join([_NSTRING_SPAN, _PARAMS_SPAN, _NSTRING_SPAN, _NSTRING_SPAN, _NSTRING_SPAN])
    + rb") " + _NUMBER + rb"(?: " + _NUMBER + _EXTENSION + rb")?\)"
)
_TEXT_HEAD = re.compile(rb" ".join([_NSTRING, _PARAMS, _NSTRING, _NSTRING, _NSTRING]))
# Any other single part: its head (type, subtype, params, id, description, encoding) in one
# group, size, extension data. Eight groups. The head is read with _OTHER_HEAD.
_OTHER_PART = re.compile(
    rb"\(("
    + rb" ".join(
        [_STRING_SPAN, _NSTRING_SPAN, _PARAMS_SPAN, _NSTRING_SPAN, _NSTRING_SPAN, _NSTRING_SPAN]
    )
    + rb") " + _NUMBER + _EXTENSION + rb"\)"
)
_OTHER_HEAD = re.compile(rb" ".join([_STRING, _NSTRING, _PARAMS, _NSTRING, _NSTRING, _NSTRING]))
# The basic fields of a message/rfc822 part, before its envelope.
_BASIC = re.compile(
    rb"\(" + rb" ".join([_NSTRING, _NSTRING, _PARAMS, _NSTRING, _NSTRING, _NSTRING, _NUMBER])
)
# After a message's basic fields, envelope, body and lines: extension data.
_OTHER_REST = re.compile(_EXTENSION + rb"\)")
# After a multipart's children: subtype, params, disposition, language, location.
_MULTIPART_REST = re.compile(
    rb"(?: " + _NSTRING + rb"(?: " + _PARAMS + rb"(?: " + _DISPOSITION + rb"(?: " + _LANGUAGE
    + rb"(?: " + _NSTRING + rb")?)?)?)?)?\)"
)
_LINES = re.compile(rb" " + _NUMBER)

# Far below the generic reader's MAX_NESTING (each part may add a few list levels): deeper
# structures are left to the generic path, which enforces the limit exactly.
_MAX_DEPTH = 30
_LPAREN, _SPACE = 0x28, 0x20
_NEXT_CHILD = (b"(", b" (")

# decode_text(name).lower() for MIME names seen before (types, subtypes, parameter names).
_LOWER: dict[bytes, str] = {}
_UPPER: dict[bytes, str] = {}
_CACHE_LIMIT = 1024


def _lower(raw: bytes | None, default: str) -> str:
    if raw is None:
        return default
    name = _LOWER.get(raw)
    if name is None:
        name = decode_text(raw).lower()
        if len(_LOWER) < _CACHE_LIMIT:
            _LOWER[raw] = name
    return name


def _upper(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    name = _UPPER.get(raw)
    if name is None:
        name = decode_text(raw).upper()
        if len(_UPPER) < _CACHE_LIMIT:
            _UPPER[raw] = name
    return name


# Parameter lists already read, by their text, as a dict that is never handed out: each part
# gets a copy of its own (dicts are mutable), which is cheaper than building one from pairs.
_PARAM_DICTS: dict[bytes, dict[str, bytes]] = {}


def _params(span: bytes) -> dict[str, bytes]:
    return _read_params(span).copy()


def _read_params(span: bytes) -> dict[str, bytes]:
    # The shared dict of a parameter list: for copying, never to be handed out.
    params = _PARAM_DICTS.get(span)
    if params is None:
        params = {_lower(name, ""): value for name, value in _PAIR.findall(span)}
        if len(_PARAM_DICTS) >= _CACHE_LIMIT:
            _PARAM_DICTS.clear()
        _PARAM_DICTS[span] = params
    return params


# The heads of single parts already read (type, subtype, parameters, id, description, encoding),
# by their text: a few content types, charsets and encodings come back in every message. Each
# entry holds the part's fields as the part holds them, but its parameters as the shared dict
# of _read_params, of which each part gets a copy of its own.
_Head = tuple[str, str, dict[str, bytes], bytes | None, bytes | None, str | None]
_TEXT_HEADS: dict[bytes, _Head] = {}
_OTHER_HEADS: dict[bytes, _Head] = {}


def _text_head(head: bytes) -> _Head:
    # The head of a text part not seen before: subtype, params, id, description, encoding.
    fields = _TEXT_HEAD.fullmatch(head)
    assert fields is not None  # _TEXT_PART matched the same text with the same pattern
    subtype, params, content_id, description, encoding = fields.groups()
    return _remember(_TEXT_HEADS, head, "text", subtype, params, content_id, description, encoding)


def _other_head(head: bytes) -> _Head | None:
    # The head of another part not seen before; None if its type is text after all (spelt
    # otherwise than _TEXT_PART accepts), which is not the usual spelling.
    fields = _OTHER_HEAD.fullmatch(head)
    assert fields is not None  # _OTHER_PART matched the same text with the same pattern
    maintype, subtype, params, content_id, description, encoding = fields.groups()
    main = _lower(maintype, "text")
    if main == "text":
        return None
    return _remember(_OTHER_HEADS, head, main, subtype, params, content_id, description, encoding)


def _remember(
    heads: dict[bytes, _Head],
    head: bytes,
    maintype: str,
    subtype: bytes | None,
    params: bytes,
    content_id: bytes | None,
    description: bytes | None,
    encoding: bytes | None,
) -> _Head:
    shared = _read_params(params)
    read = (maintype, _lower(subtype, "plain"), shared, content_id, description, _upper(encoding))
    if len(heads) >= _CACHE_LIMIT:
        heads.clear()
    heads[head] = read
    return read


def _disposition(kind: bytes | None, params: bytes | None) -> tuple[str, dict[str, bytes]] | None:
    if params is None:  # NIL or absent
        return None
    return (_lower(kind, ""), _params(params))


def _language(single: bytes | None, several: bytes | None) -> tuple[str, ...] | None:
    if single is not None:
        return (decode_text(single),)
    if several is not None:
        return tuple([decode_text(tag) for tag in _STRING_RE.findall(several)])
    return None


def scan_body(line: bytes, pos: int, depth: int = 0) -> tuple[BodyPart, int] | None:
    """Read the body structure whose ``(`` is at ``pos``; return it and the offset after it.

    Returns:
        The part and the offset after its ``)``, or ``None`` if it is not in the usual spelling
        (the caller then reads it with the generic reader).
    """
    if depth > _MAX_DEPTH:
        return None
    if line.startswith(b"((", pos):
        return _multipart(line, pos, depth)
    text = _TEXT_PART.match(line, pos)
    if text is not None:
        head, size, lines, md5, kind, disposition, language, languages, location = text.groups()
        main, sub, params, content_id, description, encoding_name = _TEXT_HEADS.get(
            head
        ) or _text_head(head)
        part = make_body(
            main,
            sub,
            params.copy(),
            (),
            content_id,
            description,
            encoding_name,
            None if size is None else int(size),
            None if lines is None else int(lines),
            None,
            None,
            md5,
            None if disposition is None else _disposition(kind, disposition),
            None if language is None and languages is None else _language(language, languages),
            location,
        )
        return part, text.end()
    other = _OTHER_PART.match(line, pos)
    if other is not None:
        head, size, md5, kind, disposition, language, languages, location = other.groups()
        read = _OTHER_HEADS.get(head) or _other_head(head)
        if read is None:
            return None  # a text part the pattern above did not take: not the usual spelling
        main, sub, params, content_id, description, encoding_name = read
        part = make_body(
            main,
            sub,
            params.copy(),
            (),
            content_id,
            description,
            encoding_name,
            None if size is None else int(size),
            None,
            None,
            None,
            md5,
            None if disposition is None else _disposition(kind, disposition),
            None if language is None and languages is None else _language(language, languages),
            location,
        )
        return part, other.end()
    return _message(line, pos, depth)


def _message(line: bytes, pos: int, depth: int) -> tuple[BodyPart, int] | None:
    # message/rfc822 or message/global with its envelope, body and lines (RFC 3501 §7.4.2).
    basic = _BASIC.match(line, pos)
    if basic is None:
        return None
    maintype, subtype, params, content_id, description, encoding, size = basic.groups()
    main, sub = _lower(maintype, "text"), _lower(subtype, "plain")
    end = basic.end()
    if main != "message" or sub not in ("rfc822", "global") or line[end : end + 2] != b" (":
        return None
    read = read_envelope(line, end + 1)
    if read is None or line[read[1] : read[1] + 2] != b" (":
        return None
    envelope, end = read
    inner = scan_body(line, end + 1, depth + 1)
    if inner is None:
        return None
    body, end = inner
    count = _LINES.match(line, end)
    if count is None:
        return None
    rest = _OTHER_REST.match(line, count.end())
    if rest is None:
        return None
    md5, kind, disposition, language, languages, location = rest.groups()
    part = make_body(
        main,
        sub,
        _params(params),
        (),
        content_id,
        description,
        _upper(encoding),
        None if size is None else int(size),
        None if count[1] is None else int(count[1]),
        envelope,
        body,
        md5,
        _disposition(kind, disposition),
        _language(language, languages),
        location,
    )
    return part, rest.end()


def _multipart(line: bytes, pos: int, depth: int) -> tuple[BodyPart, int] | None:
    parts = []
    end = pos + 1
    while True:
        child = scan_body(line, end, depth + 1)
        if child is None:
            return None
        part, end = child
        parts.append(part)
        # Another child, right after this one or after a space (Exchange, Stalwart)?
        if line.startswith(_NEXT_CHILD, end):
            if line[end] == _SPACE:
                end += 1
            continue
        break
    rest = _MULTIPART_REST.match(line, end)
    if rest is None:
        return None
    subtype, params, kind, disposition, language, languages, location = rest.groups()
    part = make_body(
        "multipart",
        _LOWER.get(subtype) or _lower(subtype, "mixed"),  # (None is no key: the default)
        {} if params is None else (_PARAM_DICTS.get(params) or _read_params(params)).copy(),
        tuple(parts),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None if disposition is None else _disposition(kind, disposition),
        None if language is None and languages is None else _language(language, languages),
        location,
    )
    return part, rest.end()
