"""The server: WebSocket sessions, command handlers, the fan-out, the HTTP API and dashboard.

:mod:`~switchboard.server.wiring` builds the parts, :mod:`~switchboard.server.app` starts them
and serves; ``docs/architecture.md`` says what each module does and ``docs/protocol.md`` what the
server speaks.
"""
