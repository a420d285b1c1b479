"""scripts/spec_diff.py on hand-made spec pairs (tests/data/spec_pairs/), its CLI and exit codes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "tests" / "data" / "spec_pairs"
SCRIPT = ROOT / "scripts" / "spec_diff.py"
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"


spec_diff = load_script("spec_diff")

# Every finding each pair must produce, and nothing else: (kind, location, breaking).
EXPECTED: dict[str, set[tuple[str, str, bool]]] = {
    "operations": {
        ("operation-removed", "DELETE /pets/{pet_id}", True),
        ("operation-path-changed", "feed_pet", True),
        ("operation-added", "POST /pets", False),
        ("tag-changed", "list_pets", True),
    },
    "request_side": {
        ("request-field-added-required", "create_pet request body .owner", True),
        ("request-field-added-optional", "create_pet request body .color", False),
        ("required-flag-changed", "create_pet request body .nickname", True),
        ("enum-value-removed", "create_pet request body .kind", True),
        ("enum-value-added", "create_pet request body .kind", False),
        ("limit-changed", "create_pet request body .name maxLength", True),
        # integer -> number: every value a client sends is still accepted.
        ("type-changed", "create_pet request body .legs", False),
    },
    "response_side": {
        ("response-field-removed", "list_pets response 200 .data[].tag", True),
        ("response-field-added", "list_pets response 200 .data[].chip", False),
        ("required-flag-changed", "list_pets response 200 .data[].name", True),
        ("type-changed", "list_pets response 200 .data[].weight", True),
        ("format-changed", "list_pets response 200 .data[].born_at", True),
        ("enum-value-added", "list_pets response 200 .data[].kind", False),
    },
    "compatible": {
        ("parameter-added-optional", "list_pets parameter query cursor", False),
        ("required-flag-changed", "list_pets parameter query limit", False),
        ("limit-changed", "list_pets parameter query limit maximum", False),
        ("response-field-added", "list_pets response 200 .color", False),
        ("status-code-added", "list_pets response 404", False),
        ("operation-added", "GET /pets/{pet_id}", False),
    },
    "status_and_parameters": {
        ("parameter-added-required", "create_pet parameter header x-tenant", True),
        ("parameter-removed", "create_pet parameter query dry_run", True),
        ("parameter-type-changed", "create_pet parameter query page", True),
        ("status-code-removed", "create_pet response 200", True),
        ("status-code-added", "create_pet response 201", True),
        ("status-code-added", "create_pet response 429", False),
        ("status-code-removed", "create_pet response 500", False),
        ("info-version-changed", "info.version", False),
    },
    "refs_and_recursion": {
        ("format-changed", "get_tree parameter header x-version", False),
        ("pattern-changed", "get_tree parameter header x-version", True),
        ("type-changed", "get_tree response 200 .name", True),
        ("response-header-removed", "get_tree response 429 header retry-after", True),
        ("response-field-added", "get_tree response 429 .code", False),
    },
    "security_and_servers": {
        ("server-removed", "servers", True),
        ("server-added", "servers", False),
        ("security-changed", "list_pets security", True),
        ("security-scheme-changed", "components.securitySchemes.apiKey", False),
    },
}


def _pair(name: str) -> tuple[Path, Path]:
    folder = PAIRS / name
    (new,) = [p for p in folder.iterdir() if p.stem == "new"]
    return folder / "old.yaml", new


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603


def test_every_pair_on_disk_has_expectations() -> None:
    assert {p.name for p in PAIRS.iterdir() if p.is_dir()} == EXPECTED.keys()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pair_reports_exactly_the_expected_changes(name: str) -> None:
    old, new = _pair(name)
    report = spec_diff.diff(spec_diff.load_document(str(old)), spec_diff.load_document(str(new)))
    found = {(c.kind, c.location, c.breaking) for c in report.changes}
    assert found == EXPECTED[name]
    assert all(c.reason for c in report.changes), "every finding says why"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_exit_code_says_whether_anything_breaks(name: str) -> None:
    old, new = _pair(name)
    result = _run(str(old), str(new))
    breaking = any(b for _, _, b in EXPECTED[name])
    assert result.returncode == (1 if breaking else 0), result.stdout + result.stderr
    assert f"Result: {'BREAKING' if breaking else 'compatible'}" in result.stdout


def test_text_output_groups_breaking_before_non_breaking() -> None:
    result = _run(*map(str, _pair("response_side")))
    text = result.stdout
    assert text.index("Breaking changes (4):") < text.index("[response-field-removed]")
    assert text.index("[response-field-removed]") < text.index("Non-breaking changes (2):")
    assert text.index("Non-breaking changes (2):") < text.index("[response-field-added]")
    # A response enum value added is not breaking, but strict parsers deserve a warning.
    assert "note: strict parsers" in text


def test_json_output_matches_the_findings() -> None:
    result = _run(*map(str, _pair("request_side")), "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["breaking"] == 4
    assert data["non_breaking"] == 3
    assert {(c["kind"], c["location"], c["breaking"]) for c in data["changes"]} == EXPECTED["request_side"]
    removed = next(c for c in data["changes"] if c["kind"] == "enum-value-removed")
    assert (removed["old"], removed["new"], removed["operation"]) == ("bird", None, "create_pet")


def test_reversed_pair_flips_the_verdicts_that_depend_on_direction() -> None:
    old, new = _pair("operations")
    report = spec_diff.diff(spec_diff.load_document(str(new)), spec_diff.load_document(str(old)))
    kinds = {(c.kind, c.location, c.breaking) for c in report.changes}
    assert ("operation-removed", "POST /pets", True) in kinds
    assert ("operation-added", "DELETE /pets/{pet_id}", False) in kinds


def test_fragment_against_itself_and_a_prose_only_edit_finds_nothing() -> None:
    doc = yaml.safe_load(FRAGMENT.read_text())
    assert spec_diff.diff(doc, doc).changes == []

    reworded = copy.deepcopy(doc)

    def reword(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                if key in ("description", "summary", "title"):
                    node[key] = "Completely different words."
                elif key in ("example", "examples"):
                    del node[key]
                else:
                    reword(node[key])
        elif isinstance(node, list):
            for item in node:
                reword(item)

    reword(reworded)
    assert reworded != doc
    assert spec_diff.diff(doc, reworded).changes == []


def test_a_changed_field_type_in_the_fragment_is_breaking() -> None:
    doc = yaml.safe_load(FRAGMENT.read_text())
    changed = copy.deepcopy(doc)
    changed["components"]["schemas"]["DNSRecord"]["properties"]["is_active"] = {"type": "string"}
    report = spec_diff.diff(doc, changed)
    locations = {c.location for c in report.breaking if c.kind == "type-changed"}
    # DNSRecord is read in the list, create responses, reached through anyOf and arrays.
    assert (
        "get_mailbox_domains response 200 .data[].dns_records<anyOf[0]>.receiving_dns_records[].is_active"
        in locations
    )
    assert (
        "post_mailbox_domains response 201 .dns_records<anyOf[0]>.sending_dns_records[].is_active"
        in locations
    )


def test_git_revision_form(tmp_path: Path) -> None:
    old, _ = _pair("response_side")
    repo = tmp_path / "repo"
    (repo / "openapi").mkdir(parents=True)
    target = repo / "openapi" / "pets.yaml"
    target.write_text(old.read_text())
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "old"]):
        subprocess.run(["git", *identity, *args], cwd=repo, check=True, timeout=30)  # noqa: S603, S607
    # The working copy gets a breaking edit: the `tag` field disappears from the response.
    doc = yaml.safe_load(old.read_text())
    del doc["components"]["schemas"]["Pet"]["properties"]["tag"]
    target.write_text(yaml.safe_dump(doc))

    result = _run("git:HEAD:openapi/pets.yaml", "openapi/pets.yaml", "--json", cwd=repo)
    assert result.returncode == 1, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [(c["kind"], c["location"]) for c in changes] == [
        ("response-field-removed", "list_pets response 200 .data[].tag")
    ]

    missing = _run("git:HEAD~1:openapi/pets.yaml", "openapi/pets.yaml", cwd=repo)
    assert missing.returncode == 2
    assert "git show failed" in missing.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.yaml", "openapi: [unclosed", "not valid YAML"),
        ("broken.json", "{", "not valid JSON"),
        ("other.yaml", "just: a mapping\n", "not an OpenAPI 3 document"),
        ("spec.txt", "openapi: 3.1.0\npaths: {}\n", "unknown extension"),
        ("dangling.yaml", "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      parameters:\n"
         "      - $ref: '#/components/parameters/Nope'\n      responses: {}\n", "unresolvable $ref"),
    ],
)  # fmt: skip
def test_unusable_documents_exit_2(tmp_path: Path, name: str, content: str, message: str) -> None:
    bad = tmp_path / name
    bad.write_text(content)
    result = _run(str(bad), str(bad))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2() -> None:
    assert _run().returncode == 2
    assert _run(str(FRAGMENT), str(ROOT / "missing.yaml")).returncode == 2
    assert _run("git:HEAD", str(FRAGMENT)).returncode == 2


def _one_operation(schema: dict[str, Any], side: str) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": "op", "responses": {"200": {"description": "ok"}}}
    content = {"application/json": {"schema": schema}}
    if side == "request":
        operation["requestBody"] = {"required": True, "content": content}
    else:
        operation["responses"]["200"]["content"] = content
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/x": {"post": operation}}}


# (old schema, new schema, kind, breaking for a request, breaking for a response)
DIRECTIONAL = [
    ({"type": "string"}, {"type": ["string", "null"]}, "type-changed", False, True),
    ({"type": ["string", "null"]}, {"type": "string"}, "type-changed", True, False),
    ({"type": "string"}, {"type": "string", "nullable": True}, "type-changed", False, True),
    (
        {"type": "string", "enum": ["a", "b"]},
        {"type": "string", "enum": ["a"]},
        "enum-value-removed",
        True,
        True,
    ),
    (
        {"type": "string", "enum": ["a"]},
        {"type": "string", "enum": ["a", "b"]},
        "enum-value-added",
        False,
        False,
    ),
    ({"type": "string"}, {"type": "string", "enum": ["a"]}, "enum-changed", True, False),
    ({"type": "string", "format": "uuid"}, {"type": "string"}, "format-changed", False, True),
    ({"type": "string"}, {"type": "string", "format": "uuid"}, "format-changed", True, False),
    ({"type": "string"}, {"type": "string", "pattern": "^a$"}, "pattern-changed", True, False),
    ({"type": "integer", "maximum": 5}, {"type": "integer", "maximum": 3}, "limit-changed", True, False),
    (
        {"type": "object"},
        {"type": "object", "additionalProperties": False},
        "additional-properties-changed",
        True,
        False,
    ),
    (
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"type": "object", "additionalProperties": {"type": "string"}},
        "type-changed",
        True,
        True,
    ),
    (
        {"anyOf": [{"type": "string"}]},
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "variants-changed",
        False,
        True,
    ),
]


@pytest.mark.parametrize(("old", "new", "kind", "request_breaks", "response_breaks"), DIRECTIONAL)
def test_direction_decides_what_breaks(
    old: dict[str, Any], new: dict[str, Any], kind: str, request_breaks: bool, response_breaks: bool
) -> None:
    for side, breaks in (("request", request_breaks), ("response", response_breaks)):
        report = spec_diff.diff(_one_operation(old, side), _one_operation(new, side))
        assert [(c.kind, c.breaking) for c in report.changes] == [(kind, breaks)], side
