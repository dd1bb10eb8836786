"""JMAP downloads from IMAP, and the mail methods when IMAP is down: TLS listener, real Dovecot.

A message's blob is the bytes that were appended (streamed over PRELOAD_BYTES); a part's blob
is its decoded content; a mailbox name too long for an id still resolves by its digest; an
IMAP server that is down gives ``serverUnavailable`` and 503 downloads.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from switchboard.server.jmap.blobs import PRELOAD_BYTES
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import basic_of, tls_client, tls_settings
from tests.support.jmap_mail import MULTIPART, PDF, append
from tests.support.jmap_mail import JmapApi as Api
from tests.support.switchboard import message, new_server

pytestmark = pytest.mark.dovecot


async def test_a_download_gives_the_appended_bytes_and_a_part_its_decoded_content(
    api: Api, http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    # Over PRELOAD_BYTES: streamed from IMAP while it is sent (the small ones are read first).
    big = message("large", body="0123456789abcdef" * 70_000 + "\r\n")
    assert len(big) > PRELOAD_BYTES
    await asyncio.to_thread(append, dovecot, imap_user, big)
    await asyncio.to_thread(append, dovecot, imap_user, MULTIPART)
    got = await api.ok("Email/get", ids=None, properties=["blobId", "subject", "attachments"])
    by_subject = {e["subject"]: e for e in got["list"]}
    root = f"/jmap/download/{api.account}"
    response = await http.get(
        f"{root}/{by_subject['large']['blobId']}/large.eml?type=message/rfc822",
        headers=basic_of(imap_user),
    )
    assert response.status_code == 200
    assert response.content == big
    assert response.headers["content-length"] == str(len(big))
    assert response.headers["content-type"] == "message/rfc822"

    [pdf] = by_subject["Café report"]["attachments"]
    response = await http.get(
        f"{root}/{pdf['blobId']}/report.pdf?type=application/pdf", headers=basic_of(imap_user)
    )
    assert response.status_code == 200 and response.content == PDF

    report_blob = by_subject["Café report"]["blobId"]
    response = await http.get(f"{root}/{report_blob}/r.eml?type=x", headers=basic_of(imap_user))
    assert response.content == MULTIPART
    missing = report_blob[:-1] + ("a" if report_blob[-1] != "a" else "b")
    response = await http.get(f"{root}/{missing}/r.eml?type=x", headers=basic_of(imap_user))
    assert response.status_code == 404
    response = await http.get(f"{root}/bnope/r.eml?type=x", headers=basic_of(imap_user))
    assert response.status_code == 404


async def test_a_mailbox_name_too_long_for_an_id_is_found_by_its_digest(
    api: Api, http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    long_name = "Archive of " + "x" * 170
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, long_name)
    raw = message("deep inside")
    await asyncio.to_thread(append, dovecot, imap_user, raw, long_name)
    box = await api.mailbox_id(long_name)
    assert len(box) <= 255 and box.startswith("m_")  # the digest form (docs/jmap.md, "Ids")
    [email_id] = (await api.ok("Email/query", filter={"inMailbox": box}))["ids"]
    assert email_id.startswith("e_")
    [email] = (await api.ok("Email/get", ids=[email_id],
                            properties=["subject", "mailboxIds", "blobId"]))["list"]  # fmt: skip
    assert email["subject"] == "deep inside" and email["mailboxIds"] == {box: True}
    response = await http.get(
        f"/jmap/download/{api.account}/{email['blobId']}/m.eml?type=x", headers=basic_of(imap_user)
    )
    assert response.content == raw


async def test_an_imap_server_that_is_down_gives_server_unavailable_and_a_503(
    tmp_path: Path, private_dovecot: DovecotServer
) -> None:
    user = private_dovecot.new_user()
    await asyncio.to_thread(private_dovecot.append, user, message("kept"))
    settings = tls_settings(private_dovecot)
    async with (
        new_server(tmp_path / "data", private_dovecot, **settings) as server,
        tls_client(server, private_dovecot) as http,
    ):  # fmt: skip
        api = Api(http, user)
        got = await api.ok("Email/get", ids=None, properties=["blobId"])
        [blob] = [e["blobId"] for e in got["list"]]
        await asyncio.to_thread(private_dovecot.stop)
        assert await api.error("Mailbox/get") == "serverUnavailable"
        assert await api.error("Email/query") == "serverUnavailable"
        response = await http.get(f"/jmap/download/{api.account}/{blob}/m.eml?type=x",
                                  headers=basic_of(user))  # fmt: skip
        assert response.status_code == 503
        mailboxes, echo = await api.request(
            ["Mailbox/get", {"accountId": api.account}, "m"], ["Core/echo", {"still": 1}, "e"]
        )
        assert mailboxes[0] == "error" and mailboxes[1]["type"] == "serverUnavailable"
        assert echo == ["Core/echo", {"still": 1}, "e"]  # the next call still runs
