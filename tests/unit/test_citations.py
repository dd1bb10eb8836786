"""What the code and the docs cite is in the repository: every ``docs/X.md`` and its section.

The design notes the project started from are not part of it, so a docstring that sends a reader
to ``design.md``, ``style.md`` or a numbered ``protocol.md §`` would point at nothing. Citations
name a file of ``docs/`` and, where it helps, a section heading: ``docs/protocol.md, "Frames"``.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TREES = ["src", "tests", "bench", "examples", "docs", "scripts"]
SUFFIXES = {".py", ".md", ""}

# `docs/name.md`, optionally followed by `, "Section"` (line breaks and comment marks between the
# words of a section are folded away before matching).
CITATION = re.compile(r'docs/([\w-]+\.md)(?:, "([^"]+)")?')
# A file of the original design notes, or protocol.md without the docs/ that makes it ours.
FOREIGN = re.compile(r"\b(?:design|style)\.md\b|(?<![/\w])protocol\.md\b")


def sources() -> list[Path]:
    files = [ROOT / "README.md"]
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*")):
            generated = any(p == "__pycache__" or p.endswith(".egg-info") for p in path.parts)
            if path.is_file() and path.suffix in SUFFIXES and not generated:
                files.append(path)
    return [path for path in files if path != Path(__file__)]


def folded(text: str) -> str:
    """The text with each line break and the indentation or comment marks after it as one space."""
    return re.sub(r"\s*\n\s*(?:#\s*)?", " ", text)


def headings(doc: Path) -> list[str]:
    lines = doc.read_text().splitlines()
    return [line.lstrip("#").strip() for line in lines if line.startswith("#")]


def test_the_scan_finds_citations() -> None:
    cited = {m[0] for path in sources() for m in CITATION.findall(path.read_text(errors="replace"))}
    assert {"protocol.md", "architecture.md", "reliability.md"} <= cited


def test_every_cited_doc_and_section_exists() -> None:
    problems = []
    for path in sources():
        where = path.relative_to(ROOT)
        text = folded(path.read_text(errors="replace"))
        problems += [f"{where}: cites {found}" for found in FOREIGN.findall(text)]
        for name, section in CITATION.findall(text):
            doc = DOCS / name
            if not doc.is_file():
                problems.append(f"{where}: {name} is not in docs/")
            elif section and not any(section in heading for heading in headings(doc)):
                problems.append(f'{where}: {name} has no section "{section}"')
    assert problems == []
