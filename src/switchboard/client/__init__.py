"""The Python client library: one sans-I/O session under a threaded shell and an asyncio shell.

``session`` holds the protocol state (tags, replies, pushes, resume cursor, watch log, acks) and
``resume`` its cursor and log; ``pushqueue`` the asyncio client's bounded push queue. The shells
only move frames: ``threaded`` (``Client``, the original's API; ``fetcher``: ``Fetcher``) and
``aio`` (``AsyncClient``), both opened by ``wsoptions``. ``promise`` is the aplus-style
``Promise``; ``errors`` the exceptions. Public names are re-exported from ``switchboard`` and
``switchboard.aio``.
"""
