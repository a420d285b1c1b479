"""Monite's published spec as the tests read it: data in the repository, openapi/reference/.

Where and when it was taken: openapi/reference/PROVENANCE.md. Nothing outside the
repository is read.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = ROOT / "openapi" / "reference"
# Upstream's text of the six operations we wrap: what the fragment must state (refreshed
# together with the fragment by .github/workflows/upstream.yml).
CUT = REFERENCE_DIR / "mailbox_domains.upstream.json"
# Upstream's text of GET /mailboxes, an operation we do not wrap: the `--add` example.
MAILBOXES = REFERENCE_DIR / "get_mailboxes.upstream.json"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def upstream_with_mailboxes() -> dict[str, Any]:
    """The cut with GET /mailboxes added: an upstream document holding one operation more
    than the fragment wraps. A schema both files name (the error schemas) is the cut's."""
    document = load(CUT)
    extra = load(MAILBOXES)
    for path, operations in extra["paths"].items():
        document["paths"].setdefault(path, {}).update(copy.deepcopy(operations))
    for section, entries in extra["components"].items():
        target = document["components"].setdefault(section, {})
        for name, value in entries.items():
            target.setdefault(name, copy.deepcopy(value))
    known = {tag["name"] for tag in document.get("tags", [])}
    document.setdefault("tags", []).extend(t for t in extra.get("tags", []) if t["name"] not in known)
    return document


def write_upstream_with_mailboxes(folder: Path) -> Path:
    path = folder / "upstream-with-mailboxes.json"
    path.write_text(json.dumps(upstream_with_mailboxes(), indent=2), encoding="utf-8")
    return path
