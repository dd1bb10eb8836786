"""The original client's ``aplus`` promise module, kept under ``switchboard.aplus``.

switchboard-python 0.1.3 shipped a top-level ``aplus`` package; code that imported
``aplus.Promise`` can import it from here. (A top-level ``aplus`` package is not provided.)
"""

from __future__ import annotations

from switchboard.client.promise import Promise, dictPromise, listPromise

__all__ = ["Promise", "dictPromise", "listPromise"]
