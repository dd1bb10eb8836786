"""JMAP served over the listener: authentication, the endpoints, push, and the method registry.

The pure JMAP layer (:mod:`switchboard.jmap`) parses and shapes; this package puts it on the
wire and connects it to the server's parts. One job per module:

- :mod:`~switchboard.server.jmap.registry`: where method handlers are registered, what they
  receive (:class:`~switchboard.server.jmap.registry.CallContext`), and the
  :class:`~switchboard.server.jmap.registry.BlobSource` downloads read from — the contract the
  mail methods implement;
- :mod:`~switchboard.server.jmap.states`: each account's state strings from the event log, and
  the change notices push is driven by;
- :mod:`~switchboard.server.jmap.callers`: who a request is (Bearer token or Basic mail login)
  and which accounts it reaches;
- :mod:`~switchboard.server.jmap.routes`: the HTTP endpoints (Session, API, download, upload,
  EventSource) and the WebSocket upgrade's check;
- :mod:`~switchboard.server.jmap.eventsource`: the EventSource stream (RFC 8620 §7.3);
- :mod:`~switchboard.server.jmap.wsapi`: JMAP over WebSocket (RFC 8887).

docs/jmap.md describes the endpoints, authentication and push as a client sees them.
"""
