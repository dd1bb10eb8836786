"""The Python client library: a sans-I/O core with a threaded shell and an asyncio shell.

``core`` tags commands and matches replies; ``threaded`` holds ``Client`` and ``Fetcher`` (the
original's API); ``aio`` the asyncio client; ``promise`` the aplus-style ``Promise``; ``errors``
the exceptions. The public names are re-exported from ``switchboard`` and ``switchboard.aio``.
"""
