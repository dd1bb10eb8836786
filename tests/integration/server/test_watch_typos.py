"""A mailbox name that cannot be watched never costs a watch (watchMailboxes on both interfaces).

Real server, real Dovecot: after a failed name the mailboxes watched before are still watched
(the engine's IDLE, the stored watch set after a restart, and the pushes), and the reply's
``list`` is the caller's whole set.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import message, new_server, plain

pytestmark = pytest.mark.dovecot


async def test_a_worker_typo_keeps_the_watched_set_and_a_valid_change_replaces_it(
    open_peer: Any, server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    dovecot.create_mailbox(imap_user, "Sent")
    account = imap_user.username
    worker = await open_peer("/workers")
    cs = plain(dovecot, account, imap_user.password)
    reply = await worker.call(
        [["connect", cs, 1], ["watchMailboxes", {"account": account, "list": ["INBOX"]}, 2]]
    )
    assert reply[1] == ["watchingMailboxes", {"list": ["INBOX"]}, 2]

    reply = await worker.call([["watchMailboxes", {"account": account, "list": ["Nope"]}, 3]])
    assert reply == [["watchingMailboxes", {"list": ["INBOX"], "failed": ["Nope"]}, 3]]
    assert server.parts.engine.watched(account) == ("INBOX",)
    stored = await server.parts.store.get_account(account)
    assert stored is not None and stored.watches == ("INBOX",)
    # INBOX is still watched for real: new mail there is pushed.
    uid = await asyncio.to_thread(dovecot.append, imap_user, message("still here"))
    assert (await worker.push())["messageId"].endswith(f"?{uid}")

    # Names that work next to a typo are added; nothing is removed.
    reply = await worker.call(
        [["watchMailboxes", {"account": account, "list": ["Sent", "Nope"]}, 4]]
    )
    assert reply == [["watchingMailboxes", {"list": ["INBOX", "Sent"], "failed": ["Nope"]}, 4]]
    assert set(server.parts.engine.watched(account)) == {"INBOX", "Sent"}

    # A change where every name works replaces the set, as documented.
    reply = await worker.call([["watchMailboxes", {"account": account, "list": ["Sent"]}, 5]])
    assert reply == [["watchingMailboxes", {"list": ["Sent"]}, 5]]
    assert server.parts.engine.watched(account) == ("Sent",)
    stored = await server.parts.store.get_account(account)
    assert stored is not None and stored.watches == ("Sent",)


async def test_a_client_typo_keeps_its_watches(
    open_peer: Any, server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    client = await open_peer("/clients")
    cs = plain(dovecot, imap_user.username, imap_user.password)
    await client.call([["connect", cs, 1], ["watchMailboxes", {"list": ["INBOX"]}, 2]])
    reply = await client.call([["watchMailboxes", {"list": ["Nope"]}, 3]])
    assert reply == [["watchingMailboxes", {"list": ["INBOX"], "failed": ["Nope"]}, 3]]
    uid = await asyncio.to_thread(dovecot.append, imap_user, message("client still gets it"))
    assert (await client.push())["messageId"].endswith(f"?{uid}")


async def test_the_kept_watch_survives_a_restart(
    open_peer: Any, server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    account = imap_user.username
    worker = await open_peer("/workers")
    cs = plain(dovecot, account, imap_user.password)
    await worker.call(
        [["connect", cs, 1], ["watchMailboxes", {"account": account, "list": ["INBOX"]}, 2]]
    )
    await worker.call([["watchMailboxes", {"account": account, "list": ["Nope"]}, 3]])
    await worker.ws.close()
    data_dir = server.settings.data_dir
    await server.stop()
    async with new_server(data_dir, dovecot) as again:
        assert again.parts.engine.watched(account) == ("INBOX",)
