"""The IMAP response parser as it was before the fast one replaced it, kept as a test oracle.

``switchboard.imap.parser`` was rewritten for speed (issue 14: a single-pass tokenizer, regex fast
paths for FETCH items, cheaper result objects). This package is the previous implementation,
unchanged except for its imports, so that the property tests (``tests/unit/imap/
test_parser_equivalence.py``) can prove the new parser returns the same responses and raises
the same error classes, and so that ``bench/parser.py`` can measure both in the same run. It
builds the same result types (``switchboard.imap.responses``). It does not ship in ``src/``.
"""

from tests.support.imap_reference_parser.parser import ResponseParser

__all__ = ["ResponseParser"]
