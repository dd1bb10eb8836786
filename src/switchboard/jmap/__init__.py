"""JMAP (RFC 8620 core, RFC 8621 mail, RFC 8887 WebSocket) as pure, sans-I/O building blocks.

Nothing in this package does I/O or imports the rest of Switchboard: it turns bytes and JSON
into typed values and back, and the server wires it to HTTP, WebSocket and the engine. One job
per module:

- :mod:`~switchboard.jmap.jsonvalue`: the JSON value types and the strict I-JSON decoder.
- :mod:`~switchboard.jmap.datatypes`: RFC 8620 §1.2–1.4 data types (Id, UnsignedInt, UTCDate).
- :mod:`~switchboard.jmap.errors`: request-level problems, method errors and SetErrors.
- :mod:`~switchboard.jmap.capabilities`: capability names and the limits the server announces.
- :mod:`~switchboard.jmap.request`: parse and validate a Request object (§3.3).
- :mod:`~switchboard.jmap.resultref`: result references and the extended JSON Pointer (§3.7).
- :mod:`~switchboard.jmap.dispatch`: run the calls of a Request through method handlers (§3.6).
- :mod:`~switchboard.jmap.arguments`: the standard /get, /changes and /query arguments (§5).
- :mod:`~switchboard.jmap.session`: the Session resource (§2).
- :mod:`~switchboard.jmap.ids`: JMAP ids for accounts, mailboxes, emails, threads and blobs.
- :mod:`~switchboard.jmap.state`: state strings from event-log positions, and /changes pages.
- :mod:`~switchboard.jmap.push`: StateChange objects and the EventSource stream (§7).
- :mod:`~switchboard.jmap.websocket`: the RFC 8887 WebSocket messages.
- :mod:`~switchboard.jmap.search`: a neutral IMAP SEARCH/SORT term model.
- :mod:`~switchboard.jmap.emailquery`: Email/query filters and sorts (RFC 8621 §4.4) as terms.
- :mod:`~switchboard.jmap.keywords`: JMAP keywords ⇄ IMAP flags (RFC 8621 §4.1.1).

The package face re-exports nothing, so importing one module loads only what it needs.
"""
