"""Our asyncio IMAP client: a sans-I/O response parser and state machine under one connection.

``docs/architecture.md`` says what each module does.
"""
