"""Captured Dovecot 2.3 FETCH responses and the messages behind them (getMessages fixtures).

``HEADER_FIELDS`` holds the envelope's header fields as the server returns them for
``BODY.PEEK[HEADER.FIELDS (…)]``, what getMessages and the push summary now read; ``FETCH_ALL``
also holds Dovecot's ENVELOPE of each message, which they read before.

Captured by APPENDing ``MESSAGES`` (flags in ``FLAGS``) to user1's INBOX of a throwaway Dovecot
(``dovecot-fixture.sh``), then sending the commands named above each constant over a raw
socket; the bytes are the server's, untouched, tagged completion included. Messages 1 and 2
rebuild the seed of a getMessages reply recorded from the original server (same sizes, 376 and
516, and same values).

1. plain UTF-8 8bit (frame 5, first message)   5. message/rfc822 inside, no Subject, groups
2. multipart/mixed, encoded-words (frame 5)    6. 8-bit Latin-1 headers and body, no charset
3. alternative: QP text, related HTML + cid    7. HTML only, base64
4. RFC 2231 / 2047 file names, base64 text     8. bare "bob" From, empty To and Subject
"""

MESSAGES = (
    (
        b"From: Alice Example <alice@example.com>\r\n"
        b"To: User One <user1@localhost>\r\n"
        b"Cc: Carol <carol@example.org>, dave@example.net\r\n"
        b"Subject: Hello from the seed\r\n"
        b"Date: Mon, 02 Jan 2017 10:00:00 +0000\r\n"
        b"Message-ID: <s1xxx@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Plain body line 1\r\n"
        b'Caf\xc3\xa9 "quoted" back\\slash / tab\there\r\n'
    ),
    (
        b"From: =?UTF-8?Q?Bj=C3=B6rn?= <bjorn@example.com>\r\n"
        b"To: user1@localhost\r\n"
        b"Subject: =?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=\r\n"
        b"Date: Tue, 03 Jan 2017 11:30:00 -0800\r\n"
        b"Message-ID: <s2xxx@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="BOUNDARY"\r\n'
        b"\r\n"
        b"--BOUNDARY\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"See attachment.\r\n"
        b"--BOUNDARY\r\n"
        b'Content-Type: application/octet-stream; name="a.bin"\r\n'
        b'Content-Disposition: attachment; filename="a.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"AAECAwQFBgc=\r\n"
        b"--BOUNDARY--\r\n"
    ),
    (
        b'From: "Newsletter" <news@example.com>\r\n'
        b"Reply-To: replies@example.com\r\n"
        b"To: user1@localhost\r\n"
        b"Bcc: hidden@example.com\r\n"
        b"Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= plain ta"
        b"il\r\n"
        b"Date: Wed, 04 Jan 2017 08:15:00 +0100\r\n"
        b"Message-ID: <alt-3@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="ALT"\r\n'
        b"\r\n"
        b"--ALT\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\n"
        b"Hello   reader,=0A=0ACaf=C3=A9 menu:   soup=\r\n"
        b" and bread.\r\n"
        b"--ALT\r\n"
        b'Content-Type: multipart/related; boundary="REL"\r\n'
        b"\r\n"
        b"--REL\r\n"
        b"Content-Type: text/html; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\n"
        b"<html><head><style>p {color: red}</style><title>T</title></head><b"
        b"ody><p>Hello&nbsp;<b>reader</=\r\n"
        b'b>,</p><p>Caf=E9 menu</p><img src=3D"cid:logo@x"></body></html>\r\n'
        b"--REL\r\n"
        b"Content-Type: image/png\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"Content-ID: <logo@x>\r\n"
        b"Content-Disposition: inline\r\n"
        b"\r\n"
        b"iVBORw0KGgo=\r\n"
        b"--REL--\r\n"
        b"--ALT--\r\n"
    ),
    (
        b"From: sender@example.com\r\n"
        b'To: user1@localhost, "Second, Person" <second@example.com>\r\n'
        b"Subject: Report attached\r\n"
        b"Date: Thu, 05 Jan 2017 09:00:00 +0000\r\n"
        b"Message-ID: <att-4@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="MIX"\r\n'
        b"\r\n"
        b"--MIX\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"w4l0w6kgcmVwb3J0IGF0dGFjaGVkLg==\r\n"
        b"--MIX\r\n"
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''%C3%A9t%C3%A9%20"
        b"report.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"JVBERi0xLjQK\r\n"
        b"--MIX\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*0*=UTF-8''long%20name%20;\r\n"
        b" filename*1*=part%C3%A9.txt\r\n"
        b"\r\n"
        b"notes\r\n"
        b"--MIX\r\n"
        b'Content-Type: image/jpeg; name="=?UTF-8?B?Zm90w7YuanBn?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"/9j/4AAQ\r\n"
        b"--MIX--\r\n"
    ),
    (
        b"From: forwarder@example.com\r\n"
        b"To: undisclosed-recipients:;\r\n"
        b'Cc: Team: a@example.org, "B Person" <b@example.org>;, solo@example'
        b".net\r\n"
        b"Date: Fri, 06 Jan 2017 12:00:00 +0000\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="OUT"\r\n'
        b"\r\n"
        b"--OUT\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"See the forwarded message.\r\n"
        b"--OUT\r\n"
        b"Content-Type: message/rfc822\r\n"
        b"\r\n"
        b"From: original@example.com\r\n"
        b"To: forwarder@example.com\r\n"
        b"Subject: Inner\r\n"
        b"Date: Thu, 05 Jan 2017 12:00:00 +0000\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="IN"\r\n'
        b"\r\n"
        b"--IN\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"inner plain\r\n"
        b"--IN\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"\r\n"
        b"<p>inner html</p>\r\n"
        b"--IN--\r\n"
        b"--OUT--\r\n"
    ),
    (
        b"From: J\xf6rg M\xfcller <joerg@example.de>\r\n"
        b"To: user1@localhost\r\n"
        b"Subject: Gr\xfc\xdfe aus K\xf6ln\r\n"
        b"Date: Sat, 07 Jan 2017 18:00:00 +0100\r\n"
        b"X-Long-Header: first part\r\n"
        b"\tfolded second part\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Gr\xfc\xdfe,\r\n"
        b"J\xf6rg \x97 \x80\r\n"
    ),
    (
        b"From: html@example.com\r\n"
        b"To: user1@localhost\r\n"
        b"Subject: HTML only\r\n"
        b"Date: Sun, 08 Jan 2017 07:00:00 +0000\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"PGh0bWw+PGhlYWQ+PHNjcmlwdD52YXIgeCA9ICc8cD5ubzwvcD4nOzwvc2NyaXB0Pj"
        b"wvaGVhZD48\r\n"
        b"Ym9keT48aDE+QmlnJmFtcDtuZXdzPC9oMT4NCjxwPsOcbsOvY29kZSAgIHRleHQ8L3"
        b"A+PC9ib2R5\r\n"
        b"PjwvaHRtbD4=\r\n"
    ),
    (b"From: bob\r\nTo: \r\nSubject: \r\n\r\nx"),
)
FLAGS = (
    "(\\Seen)",
    "(\\Flagged)",
    "()",
    "(\\Seen \\Answered)",
    "(\\Seen)",
    "(\\Draft \\Flagged)",
    "()",
    "(\\Seen)",
)

# UID FETCH 1:7 (UID FLAGS ENVELOPE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER] BODY.PEEK[TEXT]
# BODY.PEEK[]), then the same for UID 8 (tag A4)
FETCH_ALL = (
    b'* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE 376 ENVELOPE ("Mon, 02 Jan '
    b'2017 10:00:00 +0000" "Hello from the seed" (("Alice Example" NIL "alic'
    b'e" "example.com")) (("Alice Example" NIL "alice" "example.com")) (("Al'
    b'ice Example" NIL "alice" "example.com")) (("User One" NIL "user1" "loc'
    b'alhost")) (("Carol" NIL "carol" "example.org")(NIL NIL "dave" "example'
    b'.net")) NIL NIL "<s1xxx@example.com>") BODYSTRUCTURE ("text" "plain" ('
    b'"charset" "utf-8") NIL NIL "8bit" 57 2 NIL NIL NIL NIL) BODY[HEADER] {'
    b"319}\r\n"
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: User One <user1@localhost>\r\n"
    b"Cc: Carol <carol@example.org>, dave@example.net\r\n"
    b"Subject: Hello from the seed\r\n"
    b"Date: Mon, 02 Jan 2017 10:00:00 +0000\r\n"
    b"Message-ID: <s1xxx@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b" BODY[TEXT] {57}\r\n"
    b"Plain body line 1\r\n"
    b'Caf\xc3\xa9 "quoted" back\\slash / tab\there\r\n'
    b" BODY[] {376}\r\n"
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: User One <user1@localhost>\r\n"
    b"Cc: Carol <carol@example.org>, dave@example.net\r\n"
    b"Subject: Hello from the seed\r\n"
    b"Date: Mon, 02 Jan 2017 10:00:00 +0000\r\n"
    b"Message-ID: <s1xxx@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Plain body line 1\r\n"
    b'Caf\xc3\xa9 "quoted" back\\slash / tab\there\r\n'
    b")\r\n"
    b'* 2 FETCH (UID 2 FLAGS (\\Flagged) RFC822.SIZE 516 ENVELOPE ("Tue, 03 J'
    b'an 2017 11:30:00 -0800" "=?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=" (("=?UTF-8?'
    b'Q?Bj=C3=B6rn?=" NIL "bjorn" "example.com")) (("=?UTF-8?Q?Bj=C3=B6rn?="'
    b' NIL "bjorn" "example.com")) (("=?UTF-8?Q?Bj=C3=B6rn?=" NIL "bjorn" "e'
    b'xample.com")) ((NIL NIL "user1" "localhost")) NIL NIL NIL "<s2xxx@exam'
    b'ple.com>") BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL N'
    b'IL "7bit" 15 0 NIL NIL NIL NIL)("application" "octet-stream" ("name" "'
    b'a.bin") NIL NIL "base64" 12 NIL ("attachment" ("filename" "a.bin")) NI'
    b'L NIL) "mixed" ("boundary" "BOUNDARY") NIL NIL NIL) BODY[HEADER] {259}'
    b"\r\n"
    b"From: =?UTF-8?Q?Bj=C3=B6rn?= <bjorn@example.com>\r\n"
    b"To: user1@localhost\r\n"
    b"Subject: =?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=\r\n"
    b"Date: Tue, 03 Jan 2017 11:30:00 -0800\r\n"
    b"Message-ID: <s2xxx@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="BOUNDARY"\r\n'
    b"\r\n"
    b" BODY[TEXT] {257}\r\n"
    b"--BOUNDARY\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"See attachment.\r\n"
    b"--BOUNDARY\r\n"
    b'Content-Type: application/octet-stream; name="a.bin"\r\n'
    b'Content-Disposition: attachment; filename="a.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQFBgc=\r\n"
    b"--BOUNDARY--\r\n"
    b" BODY[] {516}\r\n"
    b"From: =?UTF-8?Q?Bj=C3=B6rn?= <bjorn@example.com>\r\n"
    b"To: user1@localhost\r\n"
    b"Subject: =?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=\r\n"
    b"Date: Tue, 03 Jan 2017 11:30:00 -0800\r\n"
    b"Message-ID: <s2xxx@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="BOUNDARY"\r\n'
    b"\r\n"
    b"--BOUNDARY\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"See attachment.\r\n"
    b"--BOUNDARY\r\n"
    b'Content-Type: application/octet-stream; name="a.bin"\r\n'
    b'Content-Disposition: attachment; filename="a.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQFBgc=\r\n"
    b"--BOUNDARY--\r\n"
    b")\r\n"
    b'* 3 FETCH (UID 3 FLAGS () RFC822.SIZE 958 ENVELOPE ("Wed, 04 Jan 2017 '
    b'08:15:00 +0100" "=?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= plai'
    b'n tail" (("Newsletter" NIL "news" "example.com")) (("Newsletter" NIL "'
    b'news" "example.com")) ((NIL NIL "replies" "example.com")) ((NIL NIL "u'
    b'ser1" "localhost")) NIL ((NIL NIL "hidden" "example.com")) NIL "<alt-3'
    b'@example.com>") BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL'
    b' NIL "quoted-printable" 57 1 NIL NIL NIL NIL)(("text" "html" ("charset'
    b'" "iso-8859-1") NIL NIL "quoted-printable" 161 1 NIL NIL NIL NIL)("ima'
    b'ge" "png" NIL "<logo@x>" NIL "base64" 12 NIL ("inline" NIL) NIL NIL) "'
    b'related" ("boundary" "REL") NIL NIL NIL) "alternative" ("boundary" "AL'
    b'T") NIL NIL NIL) BODY[HEADER] {332}\r\n'
    b'From: "Newsletter" <news@example.com>\r\n'
    b"Reply-To: replies@example.com\r\n"
    b"To: user1@localhost\r\n"
    b"Bcc: hidden@example.com\r\n"
    b"Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= plain tail\r\n"
    b"Date: Wed, 04 Jan 2017 08:15:00 +0100\r\n"
    b"Message-ID: <alt-3@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="ALT"\r\n'
    b"\r\n"
    b" BODY[TEXT] {626}\r\n"
    b"--ALT\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Hello   reader,=0A=0ACaf=C3=A9 menu:   soup=\r\n"
    b" and bread.\r\n"
    b"--ALT\r\n"
    b'Content-Type: multipart/related; boundary="REL"\r\n'
    b"\r\n"
    b"--REL\r\n"
    b"Content-Type: text/html; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<html><head><style>p {color: red}</style><title>T</title></head><body>"
    b"<p>Hello&nbsp;<b>reader</=\r\n"
    b'b>,</p><p>Caf=E9 menu</p><img src=3D"cid:logo@x"></body></html>\r\n'
    b"--REL\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-ID: <logo@x>\r\n"
    b"Content-Disposition: inline\r\n"
    b"\r\n"
    b"iVBORw0KGgo=\r\n"
    b"--REL--\r\n"
    b"--ALT--\r\n"
    b" BODY[] {958}\r\n"
    b'From: "Newsletter" <news@example.com>\r\n'
    b"Reply-To: replies@example.com\r\n"
    b"To: user1@localhost\r\n"
    b"Bcc: hidden@example.com\r\n"
    b"Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= plain tail\r\n"
    b"Date: Wed, 04 Jan 2017 08:15:00 +0100\r\n"
    b"Message-ID: <alt-3@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="ALT"\r\n'
    b"\r\n"
    b"--ALT\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Hello   reader,=0A=0ACaf=C3=A9 menu:   soup=\r\n"
    b" and bread.\r\n"
    b"--ALT\r\n"
    b'Content-Type: multipart/related; boundary="REL"\r\n'
    b"\r\n"
    b"--REL\r\n"
    b"Content-Type: text/html; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<html><head><style>p {color: red}</style><title>T</title></head><body>"
    b"<p>Hello&nbsp;<b>reader</=\r\n"
    b'b>,</p><p>Caf=E9 menu</p><img src=3D"cid:logo@x"></body></html>\r\n'
    b"--REL\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-ID: <logo@x>\r\n"
    b"Content-Disposition: inline\r\n"
    b"\r\n"
    b"iVBORw0KGgo=\r\n"
    b"--REL--\r\n"
    b"--ALT--\r\n"
    b")\r\n"
    b'* 4 FETCH (UID 4 FLAGS (\\Answered \\Seen) RFC822.SIZE 817 ENVELOPE ("Th'
    b'u, 05 Jan 2017 09:00:00 +0000" "Report attached" ((NIL NIL "sender" "e'
    b'xample.com")) ((NIL NIL "sender" "example.com")) ((NIL NIL "sender" "e'
    b'xample.com")) ((NIL NIL "user1" "localhost")("Second, Person" NIL "sec'
    b'ond" "example.com")) NIL NIL NIL "<att-4@example.com>") BODYSTRUCTURE '
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "base64" 32 0 NIL NIL NIL'
    b' NIL)("application" "pdf" NIL NIL NIL "base64" 12 NIL ("attachment" ("'
    b'filename*" "UTF-8\'\'%C3%A9t%C3%A9%20report.pdf")) NIL NIL)("text" "plai'
    b'n" ("charset" "utf-8") NIL NIL "7bit" 5 0 NIL ("attachment" ("filename'
    b'*" "UTF-8\'\'long%20name%20part%C3%A9.txt")) NIL NIL)("image" "jpeg" ("n'
    b'ame" "=?UTF-8?B?Zm90w7YuanBn?=") NIL NIL "base64" 8 NIL NIL NIL NIL) "'
    b'mixed" ("boundary" "MIX") NIL NIL NIL) BODY[HEADER] {252}\r\n'
    b"From: sender@example.com\r\n"
    b'To: user1@localhost, "Second, Person" <second@example.com>\r\n'
    b"Subject: Report attached\r\n"
    b"Date: Thu, 05 Jan 2017 09:00:00 +0000\r\n"
    b"Message-ID: <att-4@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="MIX"\r\n'
    b"\r\n"
    b" BODY[TEXT] {565}\r\n"
    b"--MIX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"w4l0w6kgcmVwb3J0IGF0dGFjaGVkLg==\r\n"
    b"--MIX\r\n"
    b"Content-Type: application/pdf\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''%C3%A9t%C3%A9%20repo"
    b"rt.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--MIX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Disposition: attachment;\r\n"
    b" filename*0*=UTF-8''long%20name%20;\r\n"
    b" filename*1*=part%C3%A9.txt\r\n"
    b"\r\n"
    b"notes\r\n"
    b"--MIX\r\n"
    b'Content-Type: image/jpeg; name="=?UTF-8?B?Zm90w7YuanBn?="\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"/9j/4AAQ\r\n"
    b"--MIX--\r\n"
    b" BODY[] {817}\r\n"
    b"From: sender@example.com\r\n"
    b'To: user1@localhost, "Second, Person" <second@example.com>\r\n'
    b"Subject: Report attached\r\n"
    b"Date: Thu, 05 Jan 2017 09:00:00 +0000\r\n"
    b"Message-ID: <att-4@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="MIX"\r\n'
    b"\r\n"
    b"--MIX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"w4l0w6kgcmVwb3J0IGF0dGFjaGVkLg==\r\n"
    b"--MIX\r\n"
    b"Content-Type: application/pdf\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''%C3%A9t%C3%A9%20repo"
    b"rt.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--MIX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Disposition: attachment;\r\n"
    b" filename*0*=UTF-8''long%20name%20;\r\n"
    b" filename*1*=part%C3%A9.txt\r\n"
    b"\r\n"
    b"notes\r\n"
    b"--MIX\r\n"
    b'Content-Type: image/jpeg; name="=?UTF-8?B?Zm90w7YuanBn?="\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"/9j/4AAQ\r\n"
    b"--MIX--\r\n"
    b")\r\n"
    b'* 5 FETCH (UID 5 FLAGS (\\Seen) RFC822.SIZE 684 ENVELOPE ("Fri, 06 Jan '
    b'2017 12:00:00 +0000" NIL ((NIL NIL "forwarder" "example.com")) ((NIL N'
    b'IL "forwarder" "example.com")) ((NIL NIL "forwarder" "example.com")) ('
    b'(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "Te'
    b'am" NIL)(NIL NIL "a" "example.org")("B Person" NIL "b" "example.org")('
    b'NIL NIL NIL NIL)(NIL NIL "solo" "example.net")) NIL NIL NIL) BODYSTRUC'
    b'TURE (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 26 0 NIL NIL '
    b'NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 320 ("Thu, 05 Jan 2017 '
    b'12:00:00 +0000" "Inner" ((NIL NIL "original" "example.com")) ((NIL NIL'
    b' "original" "example.com")) ((NIL NIL "original" "example.com")) ((NIL'
    b' NIL "forwarder" "example.com")) NIL NIL NIL NIL) (("text" "plain" ("c'
    b'harset" "utf-8") NIL NIL "7bit" 11 0 NIL NIL NIL NIL)("text" "html" ("'
    b'charset" "utf-8") NIL NIL "7bit" 17 0 NIL NIL NIL NIL) "alternative" ('
    b'"boundary" "IN") NIL NIL NIL) 16 NIL NIL NIL NIL) "mixed" ("boundary" '
    b'"OUT") NIL NIL NIL) BODY[HEADER] {238}\r\n'
    b"From: forwarder@example.com\r\n"
    b"To: undisclosed-recipients:;\r\n"
    b'Cc: Team: a@example.org, "B Person" <b@example.org>;, solo@example.net'
    b"\r\n"
    b"Date: Fri, 06 Jan 2017 12:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="OUT"\r\n'
    b"\r\n"
    b" BODY[TEXT] {446}\r\n"
    b"--OUT\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"See the forwarded message.\r\n"
    b"--OUT\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: original@example.com\r\n"
    b"To: forwarder@example.com\r\n"
    b"Subject: Inner\r\n"
    b"Date: Thu, 05 Jan 2017 12:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="IN"\r\n'
    b"\r\n"
    b"--IN\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"inner plain\r\n"
    b"--IN\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>inner html</p>\r\n"
    b"--IN--\r\n"
    b"--OUT--\r\n"
    b" BODY[] {684}\r\n"
    b"From: forwarder@example.com\r\n"
    b"To: undisclosed-recipients:;\r\n"
    b'Cc: Team: a@example.org, "B Person" <b@example.org>;, solo@example.net'
    b"\r\n"
    b"Date: Fri, 06 Jan 2017 12:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="OUT"\r\n'
    b"\r\n"
    b"--OUT\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"See the forwarded message.\r\n"
    b"--OUT\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: original@example.com\r\n"
    b"To: forwarder@example.com\r\n"
    b"Subject: Inner\r\n"
    b"Date: Thu, 05 Jan 2017 12:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="IN"\r\n'
    b"\r\n"
    b"--IN\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"inner plain\r\n"
    b"--IN\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>inner html</p>\r\n"
    b"--IN--\r\n"
    b"--OUT--\r\n"
    b")\r\n"
    b'* 6 FETCH (UID 6 FLAGS (\\Flagged \\Draft) RFC822.SIZE 269 ENVELOPE ("Sa'
    b't, 07 Jan 2017 18:00:00 +0100" {14}\r\n'
    b"Gr\xfc\xdfe aus K\xf6ln (({11}\r\n"
    b'J\xf6rg M\xfcller NIL "joerg" "example.de")) (({11}\r\n'
    b'J\xf6rg M\xfcller NIL "joerg" "example.de")) (({11}\r\n'
    b'J\xf6rg M\xfcller NIL "joerg" "example.de")) ((NIL NIL "user1" "localhost"))'
    b' NIL NIL NIL NIL) BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii")'
    b' NIL NIL "8bit" 18 2 NIL NIL NIL NIL) BODY[HEADER] {251}\r\n'
    b"From: J\xf6rg M\xfcller <joerg@example.de>\r\n"
    b"To: user1@localhost\r\n"
    b"Subject: Gr\xfc\xdfe aus K\xf6ln\r\n"
    b"Date: Sat, 07 Jan 2017 18:00:00 +0100\r\n"
    b"X-Long-Header: first part\r\n"
    b"\tfolded second part\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b" BODY[TEXT] {18}\r\n"
    b"Gr\xfc\xdfe,\r\n"
    b"J\xf6rg \x97 \x80\r\n"
    b" BODY[] {269}\r\n"
    b"From: J\xf6rg M\xfcller <joerg@example.de>\r\n"
    b"To: user1@localhost\r\n"
    b"Subject: Gr\xfc\xdfe aus K\xf6ln\r\n"
    b"Date: Sat, 07 Jan 2017 18:00:00 +0100\r\n"
    b"X-Long-Header: first part\r\n"
    b"\tfolded second part\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xfc\xdfe,\r\n"
    b"J\xf6rg \x97 \x80\r\n"
    b")\r\n"
    b'* 7 FETCH (UID 7 FLAGS () RFC822.SIZE 370 ENVELOPE ("Sun, 08 Jan 2017 '
    b'07:00:00 +0000" "HTML only" ((NIL NIL "html" "example.com")) ((NIL NIL'
    b' "html" "example.com")) ((NIL NIL "html" "example.com")) ((NIL NIL "us'
    b'er1" "localhost")) NIL NIL NIL NIL) BODYSTRUCTURE ("text" "html" ("cha'
    b'rset" "utf-8") NIL NIL "base64" 170 3 NIL NIL NIL NIL) BODY[HEADER] {2'
    b"00}\r\n"
    b"From: html@example.com\r\n"
    b"To: user1@localhost\r\n"
    b"Subject: HTML only\r\n"
    b"Date: Sun, 08 Jan 2017 07:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b" BODY[TEXT] {170}\r\n"
    b"PGh0bWw+PGhlYWQ+PHNjcmlwdD52YXIgeCA9ICc8cD5ubzwvcD4nOzwvc2NyaXB0PjwvaG"
    b"VhZD48\r\n"
    b"Ym9keT48aDE+QmlnJmFtcDtuZXdzPC9oMT4NCjxwPsOcbsOvY29kZSAgIHRleHQ8L3A+PC"
    b"9ib2R5\r\n"
    b"PjwvaHRtbD4=\r\n"
    b" BODY[] {370}\r\n"
    b"From: html@example.com\r\n"
    b"To: user1@localhost\r\n"
    b"Subject: HTML only\r\n"
    b"Date: Sun, 08 Jan 2017 07:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"PGh0bWw+PGhlYWQ+PHNjcmlwdD52YXIgeCA9ICc8cD5ubzwvcD4nOzwvc2NyaXB0PjwvaG"
    b"VhZD48\r\n"
    b"Ym9keT48aDE+QmlnJmFtcDtuZXdzPC9oMT4NCjxwPsOcbsOvY29kZSAgIHRleHQ8L3A+PC"
    b"9ib2R5\r\n"
    b"PjwvaHRtbD4=\r\n"
    b")\r\n"
    b"A3 OK Fetch completed (0.002 + 0.000 + 0.001 secs).\r\n"
    b'* 8 FETCH (UID 8 FLAGS (\\Seen \\Recent) RFC822.SIZE 31 ENVELOPE (NIL ""'
    b' ((NIL NIL "bob" "MISSING_DOMAIN")) ((NIL NIL "bob" "MISSING_DOMAIN"))'
    b' ((NIL NIL "bob" "MISSING_DOMAIN")) NIL NIL NIL NIL NIL) BODYSTRUCTURE'
    b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL'
    b" NIL) BODY[HEADER] {30}\r\n"
    b"From: bob\r\n"
    b"To: \r\n"
    b"Subject: \r\n"
    b"\r\n"
    b" BODY[TEXT] {1}\r\n"
    b"x BODY[] {31}\r\n"
    b"From: bob\r\n"
    b"To: \r\n"
    b"Subject: \r\n"
    b"\r\n"
    b"x)\r\n"
    b"A4 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)

SECOND_3 = (  # UID FETCH 3 (UID BODY.PEEK[2.1] BODY.PEEK[1]<0.16384>)
    b"* 3 FETCH (UID 3 BODY[2.1] {161}\r\n"
    b"<html><head><style>p {color: red}</style><title>T</title></head><body>"
    b"<p>Hello&nbsp;<b>reader</=\r\n"
    b'b>,</p><p>Caf=E9 menu</p><img src=3D"cid:logo@x"></body></html> BODY[1'
    b"]<0> {57}\r\n"
    b"Hello   reader,=0A=0ACaf=C3=A9 menu:   soup=\r\n"
    b" and bread.)\r\n"
    b"A3 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)

SECOND_4_5 = (  # UID FETCH 4,5 (UID BODY.PEEK[1]<0.16384>)
    b"* 4 FETCH (UID 4 BODY[1]<0> {32}\r\n"
    b"w4l0w6kgcmVwb3J0IGF0dGFjaGVkLg==)\r\n"
    b"* 5 FETCH (UID 5 BODY[1]<0> {26}\r\n"
    b"See the forwarded message.)\r\n"
    b"A3 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)

SECOND_1_2_6_8 = (  # UID FETCH 1,2,6,8 (UID BODY.PEEK[1]<0.16384>)
    b"* 1 FETCH (UID 1 BODY[1]<0> {57}\r\n"
    b"Plain body line 1\r\n"
    b'Caf\xc3\xa9 "quoted" back\\slash / tab\there\r\n'
    b")\r\n"
    b"* 2 FETCH (UID 2 BODY[1]<0> {15}\r\n"
    b"See attachment.)\r\n"
    b"* 6 FETCH (UID 6 BODY[1]<0> {18}\r\n"
    b"Gr\xfc\xdfe,\r\n"
    b"J\xf6rg \x97 \x80\r\n"
    b")\r\n"
    b"* 8 FETCH (UID 8 BODY[1]<0> {1}\r\n"
    b"x)\r\n"
    b"A3 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)

SECOND_7 = (  # UID FETCH 7 (UID BODY.PEEK[1] BODY.PEEK[1]<0.16384>)
    b"* 7 FETCH (UID 7 BODY[1] {170}\r\n"
    b"PGh0bWw+PGhlYWQ+PHNjcmlwdD52YXIgeCA9ICc8cD5ubzwvcD4nOzwvc2NyaXB0PjwvaG"
    b"VhZD48\r\n"
    b"Ym9keT48aDE+QmlnJmFtcDtuZXdzPC9oMT4NCjxwPsOcbsOvY29kZSAgIHRleHQ8L3A+PC"
    b"9ib2R5\r\n"
    b"PjwvaHRtbD4=\r\n"
    b" BODY[1]<0> {170}\r\n"
    b"PGh0bWw+PGhlYWQ+PHNjcmlwdD52YXIgeCA9ICc8cD5ubzwvcD4nOzwvc2NyaXB0PjwvaG"
    b"VhZD48\r\n"
    b"Ym9keT48aDE+QmlnJmFtcDtuZXdzPC9oMT4NCjxwPsOcbsOvY29kZSAgIHRleHQ8L3A+PC"
    b"9ib2R5\r\n"
    b"PjwvaHRtbD4=\r\n"
    b")\r\n"
    b"A3 OK Fetch completed (0.001 + 0.000 secs).\r\n"
)


HEADER_FIELDS = (  # UID FETCH 1:8 (UID BODY.PEEK[HEADER.FIELDS (DATE SUBJECT FROM SENDER
    # REPLY-TO TO CC BCC MESSAGE-ID)]), the tagged completion left out
    b'* 1 FETCH (UID 1 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {226}\r\n'
    b'From: Alice Example <alice@example.com>\r\n'
    b'To: User One <user1@localhost>\r\n'
    b'Cc: Carol <carol@example.org>, dave@example.net\r\n'
    b'Subject: Hello from the seed\r\n'
    b'Date: Mon, 02 Jan 2017 10:00:00 +0000\r\n'
    b'Message-ID: <s1xxx@example.com>\r\n'
    b'\r\n'
    b')\r\n'
    b'* 2 FETCH (UID 2 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {188}\r\n'
    b'From: =?UTF-8?Q?Bj=C3=B6rn?= <bjorn@example.com>\r\n'
    b'To: user1@localhost\r\n'
    b'Subject: =?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=\r\n'
    b'Date: Tue, 03 Jan 2017 11:30:00 -0800\r\n'
    b'Message-ID: <s2xxx@example.com>\r\n'
    b'\r\n'
    b')\r\n'
    b'* 3 FETCH (UID 3 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {260}\r\n'
    b'From: "Newsletter" <news@example.com>\r\n'
    b'Reply-To: replies@example.com\r\n'
    b'To: user1@localhost\r\n'
    b'Bcc: hidden@example.com\r\n'
    b'Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= plain tail\r\n'
    b'Date: Wed, 04 Jan 2017 08:15:00 +0100\r\n'
    b'Message-ID: <alt-3@example.com>\r\n'
    b'\r\n'
    b')\r\n'
    b'* 4 FETCH (UID 4 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {186}\r\n'
    b'From: sender@example.com\r\n'
    b'To: user1@localhost, "Second, Person" <second@example.com>\r\n'
    b'Subject: Report attached\r\n'
    b'Date: Thu, 05 Jan 2017 09:00:00 +0000\r\n'
    b'Message-ID: <att-4@example.com>\r\n'
    b'\r\n'
    b')\r\n'
    b'* 5 FETCH (UID 5 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {172}\r\n'
    b'From: forwarder@example.com\r\n'
    b'To: undisclosed-recipients:;\r\n'
    b'Cc: Team: a@example.org, "B Person" <b@example.org>;, solo@example.net\r\n'
    b'Date: Fri, 06 Jan 2017 12:00:00 +0000\r\n'
    b'\r\n'
    b')\r\n'
    b'* 6 FETCH (UID 6 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {125}\r\n'
    b'From: J\xf6rg M\xfcller <joerg@example.de>\r\n'
    b'To: user1@localhost\r\n'
    b'Subject: Gr\xfc\xdfe aus K\xf6ln\r\n'
    b'Date: Sat, 07 Jan 2017 18:00:00 +0100\r\n'
    b'\r\n'
    b')\r\n'
    b'* 7 FETCH (UID 7 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {106}\r\n'
    b'From: html@example.com\r\n'
    b'To: user1@localhost\r\n'
    b'Subject: HTML only\r\n'
    b'Date: Sun, 08 Jan 2017 07:00:00 +0000\r\n'
    b'\r\n'
    b')\r\n'
    b'* 8 FETCH (UID 8 BODY[HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC'
    b' BCC MESSAGE-ID)] {30}\r\n'
    b'From: bob\r\n'
    b'To: \r\n'
    b'Subject: \r\n'
    b'\r\n'
    b')\r\n'
)
