"""The shared vocabulary at the bottom of the package: accounts, events and the store's interface.

Pure dataclasses, enums and ``Protocol`` classes, imported by the engine, the store and the server
alike; nothing here does I/O or imports another part of Switchboard.

- :mod:`switchboard.model.accounts`: an account's settings and credentials.
- :mod:`switchboard.model.events`: checkpoints and the events the engine announces.
- :mod:`switchboard.model.store`: what the engine and the server need of the durable store.
"""
