"""The commands that change a mailbox: UID STORE, UID COPY, UID MOVE and UID EXPUNGE.

How it works: each function sends one command on a SELECTED (read-write) connection with
:meth:`~switchboard.imap.connection.ImapConnection.run_selected`, the connection's own command
runner, so it gets the same bounded wait, the same NO/BAD → exception translation and the same
logging as every other command.
They live in their own module, beside the connection rather than in it, because only the
engine's writer (:mod:`switchboard.engine.writer`) changes mail; everything else reads.

Rules that keep a change from reaching further than asked:

* flags are sent with ``.SILENT`` (we know what we set) and checked against the flag grammar
  first (a ``\\`` system flag or an atom: RFC 3501 §9 ``flag``), never interpolated unchecked;
* ``UID EXPUNGE`` (RFC 4315 UIDPLUS) removes only the UIDs given — plain ``EXPUNGE`` would also
  remove whatever another client marked ``\\Deleted``, so it is never sent;
* ``COPYUID`` (UIDPLUS) is read from the tagged OK of UID COPY and from the untagged OK that
  precedes UID MOVE's expunges (RFC 6851 §4.3), giving where each message landed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Final

from switchboard.imap.commands import astring, atom, raw, seq_set
from switchboard.imap.connection import ImapConnection
from switchboard.imap.responses import (
    Expunge,
    Fetch,
    ResponseCode,
    Status,
    StatusResponse,
    Unknown,
)

__all__ = ["CopyUid", "parse_copyuid", "uid_copy", "uid_expunge", "uid_move", "uid_store"]

# RFC 3501 §9: flag = "\Answered" / ... / flag-keyword / flag-extension; an atom is 1+ ATOM-CHAR
# (no CTL, SP, ( ) { % * " \ ]). A system flag is "\" + atom.
_FLAG: Final = re.compile(r'\\?[^\x00-\x20\x7f(){%*"\\\]]{1,255}', re.ASCII)
_UID_SET: Final = re.compile(r"[0-9]+(?::[0-9]+)?(?:,[0-9]+(?::[0-9]+)?)*", re.ASCII)

CopyUid = dict[int, int]
"""Source UID → the UID the message got in the target mailbox."""


def _flag_list(flags: Iterable[str]) -> str:
    checked = sorted(set(flags))
    for flag in checked:
        if _FLAG.fullmatch(flag) is None:
            raise ValueError(f"not an IMAP flag: {flag[:60]!r}")
    return "(" + " ".join(checked) + ")"


def _expand(uid_set: str) -> list[int]:
    numbers: list[int] = []
    for part in uid_set.split(","):
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        if low > high:
            low, high = high, low
        if high - low > 100_000:
            raise ValueError("COPYUID range too long")
        numbers.extend(range(low, high + 1))
    return numbers


def parse_copyuid(code: ResponseCode | None) -> CopyUid:
    """Source → target UIDs from a ``[COPYUID uidvalidity source-set target-set]`` code.

    Returns an empty map for any other code, or a COPYUID that does not parse (the server
    then just did not say where the messages went).
    """
    if code is None or code.name != "COPYUID" or not isinstance(code.value, str):
        return {}
    parts = code.value.split()
    if len(parts) != 3 or not all(_UID_SET.fullmatch(p) for p in parts[1:]):
        return {}
    try:
        sources, targets = _expand(parts[1]), _expand(parts[2])
    except ValueError:
        return {}
    if len(sources) != len(targets):
        return {}
    return dict(zip(sources, targets, strict=True))


async def uid_store(
    conn: ImapConnection, uids: Collection[int], flags: Iterable[str], *, add: bool
) -> None:
    """Add (``+FLAGS.SILENT``) or remove (``-FLAGS.SILENT``) flags of the messages ``uids``.

    Raises:
        ValueError: no UID, or a flag outside the grammar.
        CommandFailed: the server refused (e.g. a read-only mailbox).
        InvalidState: no mailbox is selected.
        ImapTimeout, ConnectionLost: as every command.
    """
    operation = "+FLAGS.SILENT" if add else "-FLAGS.SILENT"
    # FETCH responses claimed: another session's flag changes may ride along; they are dropped
    # here rather than filling the connection's unsolicited queue.
    await conn.run_selected(
        "UID STORE", seq_set(uids), atom(operation), raw(_flag_list(flags)), claims=(Fetch,)
    )


async def uid_copy(conn: ImapConnection, uids: Collection[int], mailbox: str) -> CopyUid:
    """Copy the messages ``uids`` to ``mailbox``; returns COPYUID's map (empty without UIDPLUS).

    Raises:
        ValueError: no UID.
        MailboxNotFound: no such target (``[TRYCREATE]``).
        CommandFailed, InvalidState, ImapTimeout, ConnectionLost: as :func:`uid_store`.
    """
    tagged, _ = await conn.run_selected("UID COPY", seq_set(uids), astring(mailbox))
    return parse_copyuid(tagged.code)


async def uid_move(conn: ImapConnection, uids: Collection[int], mailbox: str) -> CopyUid:
    """Move the messages ``uids`` to ``mailbox`` with UID MOVE (RFC 6851).

    The caller checks that the server offers MOVE. Returns COPYUID's map (empty without it).

    Raises:
        ValueError, MailboxNotFound, CommandFailed, InvalidState, ImapTimeout, ConnectionLost:
            as :func:`uid_copy`.
    """
    tagged, untagged = await conn.run_selected(
        "UID MOVE",
        seq_set(uids),
        astring(mailbox),
        claims=(StatusResponse, Expunge, Fetch, Unknown),
    )
    for response in untagged:
        if isinstance(response, StatusResponse) and response.status is Status.OK:
            found = parse_copyuid(response.code)
            if found:
                return found
    return parse_copyuid(tagged.code)


async def uid_expunge(conn: ImapConnection, uids: Collection[int]) -> None:
    """Expunge exactly the messages ``uids`` (they must carry ``\\Deleted``): UIDPLUS.

    The caller checks that the server offers UIDPLUS.

    Raises:
        ValueError, CommandFailed, InvalidState, ImapTimeout, ConnectionLost: as
            :func:`uid_store`.
    """
    await conn.run_selected("UID EXPUNGE", seq_set(uids), claims=(Expunge, Unknown))
