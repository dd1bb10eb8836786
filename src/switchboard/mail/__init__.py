"""Mail as Switchboard reads it: one decoder for headers, addresses and MIME, no I/O.

The engine's push summary and the server's ``getMessages`` both read messages through this
package, so one message always decodes one way (docs/protocol.md, "How mail is decoded"). It
imports only :mod:`switchboard.model` and the standard library.

- :mod:`~switchboard.mail.charsets`: charset labels, and undeclared 8-bit text (UTF-8, else
  Windows-1252).
- :mod:`~switchboard.mail.headers`: header blocks split into fields, RFC 2047 words, the raw
  and decoded text of a header value.
- :mod:`~switchboard.mail.addresses`: RFC 5322 address lists, their wire objects and the
  ``Name <address>`` form.
- :mod:`~switchboard.mail.envelope`: subject, date, addresses of one message from its header
  bytes, with IMAP ENVELOPE's rules.
- :mod:`~switchboard.mail.mime`: transfer encodings, part numbering, attachments, HTML text.
- :mod:`~switchboard.mail.render`: the ``getMessages`` properties: what to fetch, how to render.
- :mod:`~switchboard.mail.summary`: the summary a ``newMessage`` push carries.
- :mod:`~switchboard.mail.utf7`: mailbox names in modified UTF-7.
"""
