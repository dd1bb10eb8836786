"""JMAP calls as a test makes them: one user's API over HTTPS, and messages to read back."""

from __future__ import annotations

from typing import Any

import httpx

from switchboard.jmap.capabilities import CORE, MAIL
from switchboard.jmap.ids import account_id
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import basic_of

USING = [CORE, MAIL]

MULTIPART = (
    b"From: =?utf-8?q?Andr=C3=A9?= <andre@example.com>\r\n"
    b"To: Bob <bob@example.com>, carol@example.com\r\n"
    b"Cc: dave@example.com\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?= report\r\n"
    b"Date: Wed, 04 Jun 2014 10:00:00 +0200\r\n"
    b"Message-ID: <report-1@example.com>\r\n"
    b"In-Reply-To: <earlier@example.com>\r\n"
    b"References: <first@example.com> <earlier@example.com>\r\n"
    b"X-Tag: one\r\n"
    b"X-Tag: two\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n'
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 numbers are up.   Details follow in the attachment.\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<html><body><p>Caf\xc3\xa9 numbers are <b>up</b>.</p></body></html>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b'Content-Type: application/pdf; name="report.pdf"\r\n'
    b'Content-Disposition: attachment; filename="report.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQKJcTl8uXrp/Og0MTGCg==\r\n"
    b"--outer--\r\n"
)
PDF = b"%PDF-1.4\n%\xc4\xe5\xf2\xe5\xeb\xa7\xf3\xa0\xd0\xc4\xc6\n"


class JmapApi:
    """One user's JMAP API over HTTPS."""

    def __init__(self, http: httpx.AsyncClient, user: ImapUser) -> None:
        self.http = http
        self.user = user
        self.account = account_id(user.username)

    async def request(
        self, *calls: list[Any], using: list[str] | None = None
    ) -> list[list[Any]]:
        body = {"using": using or USING, "methodCalls": list(calls)}
        response = await self.http.post("/jmap/api", json=body, headers=basic_of(self.user))
        assert response.status_code == 200, response.text
        result: list[list[Any]] = response.json()["methodResponses"]
        return result

    async def call(self, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        arguments.setdefault("accountId", self.account)
        [[answered, result, call_id]] = await self.request([name, arguments, "c"])
        assert call_id == "c"
        return answered, result

    async def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        answered, result = await self.call(name, **arguments)
        assert answered == name, result
        return result

    async def error(self, name: str, **arguments: Any) -> str:
        answered, result = await self.call(name, **arguments)
        assert answered == "error", result
        return str(result["type"])

    async def mailbox_id(self, role_or_name: str) -> str:
        listed = (await self.ok("Mailbox/get", ids=None))["list"]
        for mailbox in listed:
            if role_or_name in (mailbox["role"], mailbox["name"]):
                return str(mailbox["id"])
        raise AssertionError(f"no mailbox {role_or_name}: {listed}")


def append(dovecot: DovecotServer, user: ImapUser, raw: bytes, mailbox: str = "INBOX",
           flags: str = "") -> int:  # fmt: skip
    return dovecot.append(user, raw, mailbox, flags)
