"""Pure parts of server.mailops: the mailbox-list state."""

from __future__ import annotations

from switchboard.server.mailops import mailboxes_state

MAX_SAFE_INTEGER = 2**53 - 1


def test_state_fits_a_javascript_number_and_follows_the_mailbox_set() -> None:
    entries = [("INBOX", 1), ("Work", 3), ("[Gmail]/Sent Mail", 2**32 - 1)]
    state = mailboxes_state(entries)
    assert 0 <= state <= MAX_SAFE_INTEGER
    assert state == mailboxes_state(list(entries))  # stable while the set is
    changed = [
        [("INBOX", 1), ("Work", 4), ("[Gmail]/Sent Mail", 2**32 - 1)],  # a UIDVALIDITY moved
        [("INBOX", 1), ("Work", 3)],  # a mailbox went away
        [("INBOX", 1), ("Work2", 3), ("[Gmail]/Sent Mail", 2**32 - 1)],  # renamed
        [],
    ]
    states = {mailboxes_state(e) for e in changed}
    assert state not in states and len(states) == len(changed)
    # 53 bits used, not fewer: over many sets some state has its top bit set.
    assert max(mailboxes_state([("M", n)]) for n in range(1, 200)) > 2**52
