"""The server: WebSocket sessions, command handlers, the fan-out, the HTTP API and dashboard.

:mod:`~switchboard.server.app` wires the parts; ``docs/architecture.md`` says what each module
does and ``docs/protocol.md`` what the server speaks.
"""
