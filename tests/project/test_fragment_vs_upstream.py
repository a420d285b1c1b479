"""Our fragment states Monite's facts: it differs from upstream only where DEVIATIONS.md says.

The comparison is scripts/spec_diff.py. Each finding is mapped to a `kind` of the table in
openapi/DEVIATIONS.md; a finding without a row fails, and so does a row without a finding.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from reference_data import CUT
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"
DEVIATIONS = ROOT / "openapi" / "DEVIATIONS.md"
# Upstream's text of the operations we wrap, kept in the repository (openapi/reference/).
UPSTREAM = CUT
VERSION_HEADER = "x-monite-version"


spec_diff = load_script("spec_diff")


def deviation_kinds(markdown: str) -> list[str]:
    """The `kind` column of the first table in DEVIATIONS.md, in order."""
    rows = [line for line in markdown.splitlines() if line.lstrip().startswith("|")]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0].strip().strip("|").split("|")]
    column = header.index("kind")
    kinds = []
    for row in rows[2:]:  # after the header and its |---| separator
        cell = row.strip().strip("|").split("|")[column].strip()
        kinds.append(cell.strip("`"))
    return kinds


def deviation_of(change: Any) -> str | None:
    """Which DEVIATIONS.md kind explains a finding, or None when nothing does."""
    header = re.fullmatch(rf"\S+ parameter header {VERSION_HEADER}", change.location)
    if header and change.kind == "format-changed" and (change.old, change.new) == ("date", None):
        return "version-header"
    if (
        header
        and change.kind == "pattern-changed"
        and change.old is None
        and change.new == r"^\d{4}-\d{2}-\d{2}$"
    ):
        return "version-header"
    if change.kind == "status-code-added" and change.new == "429":
        return "rate-limit-response"
    if change.kind == "server-removed" and change.old == "https://api.dev.monite.com/v1":
        return "servers"
    return None


def _upstream() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(UPSTREAM.read_text())
    return document


def _fragment() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(FRAGMENT.read_text())
    return document


def _operation_ids(doc: Mapping[str, Any]) -> set[str]:
    return {
        op["operationId"] for item in doc["paths"].values() for op in item.values() if "operationId" in op
    }


def unexplained_and_unused(
    upstream: Mapping[str, Any], fragment: Mapping[str, Any], listed: list[str]
) -> tuple[list[str], set[str]]:
    report = spec_diff.diff(upstream, fragment, old_name="upstream", new_name="fragment")
    unexplained = [c.describe() for c in report.changes if deviation_of(c) not in listed]
    used = {deviation_of(c) for c in report.changes}
    return unexplained, set(listed) - used


def test_deviations_table_lists_the_known_kinds() -> None:
    kinds = deviation_kinds(DEVIATIONS.read_text())
    assert sorted(kinds) == ["rate-limit-response", "servers", "version-header"]


def test_fragment_differs_from_upstream_only_as_listed() -> None:
    listed = deviation_kinds(DEVIATIONS.read_text())
    unexplained, stale = unexplained_and_unused(_upstream(), _fragment(), listed)
    assert unexplained == [], "differences from upstream not in openapi/DEVIATIONS.md:\n" + "\n".join(
        unexplained
    )
    assert stale == set(), f"rows of openapi/DEVIATIONS.md that no longer happen: {sorted(stale)}"


def test_the_operation_wide_deviations_cover_all_six_operations() -> None:
    upstream, fragment = _upstream(), _fragment()
    assert _operation_ids(upstream) == _operation_ids(fragment)
    assert len(_operation_ids(fragment)) == 6
    report = spec_diff.diff(upstream, fragment)
    for kind in ("version-header", "rate-limit-response"):
        operations = {c.operation for c in report.changes if deviation_of(c) == kind}
        assert operations == _operation_ids(fragment), kind


@pytest.mark.parametrize("kind", ["version-header", "rate-limit-response", "servers"])
def test_removing_a_row_from_deviations_fails_the_comparison(kind: str) -> None:
    listed = [k for k in deviation_kinds(DEVIATIONS.read_text()) if k != kind]
    unexplained, _ = unexplained_and_unused(_upstream(), _fragment(), listed)
    assert unexplained, f"dropping the {kind} row must leave findings unexplained"


def test_a_row_that_no_longer_happens_is_reported_stale() -> None:
    fragment = _fragment()
    # Put the development server back: the `servers` row no longer describes anything.
    fragment["servers"] = _upstream()["servers"]
    unexplained, stale = unexplained_and_unused(
        _upstream(), fragment, deviation_kinds(DEVIATIONS.read_text())
    )
    assert unexplained == []
    assert stale == {"servers"}


@pytest.mark.parametrize(
    ("edit", "expected_kind"),
    [
        (lambda d: d["components"]["schemas"]["DomainResponse"]["properties"].__setitem__(
            "dedicated_ip", {"type": "integer"}), "type-changed"),
        (lambda d: d["components"]["schemas"]["DNSRecordType"]["enum"].remove("CNAME"), "enum-value-removed"),
        (lambda d: d["components"]["schemas"]["DomainRequest"]["required"].clear(), "required-flag-changed"),
        (lambda d: d["paths"]["/mailbox_domains"]["post"]["responses"].pop("409"), "status-code-removed"),
        (lambda d: d["paths"]["/mailbox_domains/{domain_id}"]["delete"]["parameters"][1]["schema"].pop(
            "format"), "format-changed"),
    ],
)  # fmt: skip
def test_a_deliberately_changed_copy_is_caught(edit: Any, expected_kind: str) -> None:
    changed = copy.deepcopy(_fragment())
    edit(changed)
    unexplained, _ = unexplained_and_unused(_upstream(), changed, deviation_kinds(DEVIATIONS.read_text()))
    assert any(f"[{expected_kind}]" in line for line in unexplained), unexplained
