"""`make sync-spec`: the fragment follows Monite's published spec by one command.

From Monite's published spec as the repository keeps it (openapi/reference/, see
tests/reference_data.py) the tests build upstream variants in a temporary folder and run
the real command (scripts/sync_spec.py, what `make sync-spec` calls) on a copy of the
project: a new optional response field and a new enum value, a removed required field,
`--add get_mailboxes`, the unchanged reference, and the URL form against a loopback HTTP
server. The real project is never written to.
"""

from __future__ import annotations

import copy
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from reference_data import CUT, load, upstream_with_mailboxes, write_upstream_with_mailboxes
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
# An upstream document: upstream's own text of the operations we wrap (a cut of Monite's
# spec, which the sync reads as it reads the whole one).
REFERENCE = CUT
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
# monite_async too: `generate` renders the resource methods into it.
COPIED = ("openapi", "scripts", "generated", "monite_async", "pyproject.toml")

sync_spec = load_script("sync_spec")
spec_diff = load_script("spec_diff")


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return load(REFERENCE)


def copy_project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__", ".*cache"))
        else:
            shutil.copy2(source, folder / name)
    return folder


def write_variant(
    reference: dict[str, Any], folder: Path, edit: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    document = copy.deepcopy(reference)
    if edit is not None:
        edit(document)
    path = folder / "upstream.json"
    path.write_text(json.dumps(document))
    return path


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [str(VENV_PYTHON), str(project / "scripts" / "sync_spec.py"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def generate(project: Path) -> None:
    result = subprocess.run(  # noqa: S603
        [str(VENV_PYTHON), str(project / "scripts" / "generate.py")],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def fragment_of(project: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((project / "openapi" / "mailbox_domains.yaml").read_text())
    return document


# --- the deviations are code -----------------------------------------------------------------


def test_every_deviation_row_has_a_transform_and_every_transform_a_row() -> None:
    kinds = sync_spec.deviation_kinds((ROOT / "openapi" / "DEVIATIONS.md").read_text())
    assert len(kinds) == len(set(kinds))
    assert sorted(kinds) == sorted(sync_spec.TRANSFORMS)


@pytest.mark.parametrize("edit", ["add-row", "drop-row"])
def test_the_sync_refuses_when_table_and_transforms_disagree(
    tmp_path: Path, reference: dict[str, Any], edit: str
) -> None:
    project = copy_project(tmp_path / "project")
    deviations = project / "openapi" / "DEVIATIONS.md"
    lines = deviations.read_text().splitlines()
    if edit == "add-row":
        lines.append("| `new-kind` | somewhere | x | y | no transform for it |")
    else:
        lines = [line for line in lines if not line.startswith("| `servers`")]
    deviations.write_text("\n".join(lines) + "\n")
    before = (project / "openapi" / "mailbox_domains.yaml").read_bytes()
    result = run(project, "--upstream", str(write_variant(reference, tmp_path)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DEVIATIONS.md and the sync's transforms disagree" in result.stderr
    assert ("new-kind" if edit == "add-row" else "servers") in result.stderr
    assert (project / "openapi" / "mailbox_domains.yaml").read_bytes() == before


# --- the unchanged reference --------------------------------------------------------------------


def test_the_committed_fragment_is_what_the_sync_writes_from_the_reference(reference: dict[str, Any]) -> None:
    result = sync_spec.sync(reference, yaml.safe_load(FRAGMENT.read_text()))
    assert sync_spec.render(result.document) == FRAGMENT.read_text()
    assert result.needs_description == []
    assert result.removed_upstream == []
    assert result.counts["operation"] == 6
    assert result.counts["schema"] == 17


def test_make_sync_spec_check_on_the_unchanged_reference_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "sync-spec", f"UPSTREAM={REFERENCE}"]
    result = subprocess.run(  # noqa: S603
        [*command, "CHECK=1"],
        cwd=ROOT,  # CHECK=1 writes nothing
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "upstream has not moved" in result.stdout
    assert "elements extracted" in result.stdout


def test_the_cut_it_writes_is_the_reference_cut(tmp_path: Path) -> None:
    """`CUT=FILE` writes what openapi/reference/mailbox_domains.upstream.json holds, byte for
    byte, from an upstream document with more operations than we wrap."""
    project = copy_project(tmp_path / "project")
    upstream = write_upstream_with_mailboxes(tmp_path)
    result = run(project, "--upstream", str(upstream), "--check", "--write-cut", str(tmp_path / "cut.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "cut.json").read_bytes() == CUT.read_bytes()


def test_running_it_twice_writes_the_same_bytes_and_no_diff(
    tmp_path: Path, reference: dict[str, Any]
) -> None:
    project = copy_project(tmp_path / "project")
    upstream = write_variant(reference, tmp_path)
    first = run(project, "--upstream", str(upstream))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "unchanged" in first.stdout
    once = (project / "openapi" / "mailbox_domains.yaml").read_bytes()
    assert once == FRAGMENT.read_bytes()
    second = run(project, "--upstream", str(upstream))
    assert second.returncode == 0
    assert (project / "openapi" / "mailbox_domains.yaml").read_bytes() == once
    check = run(project, "--upstream", str(upstream), "--check")
    assert check.returncode == 0, check.stdout


# --- our prose is kept, theirs is not copied ------------------------------------------------------


def test_upstream_prose_changes_do_not_reach_the_fragment(tmp_path: Path, reference: dict[str, Any]) -> None:
    def reword(doc: dict[str, Any]) -> None:
        doc["paths"]["/mailbox_domains"]["get"]["summary"] = "Upstream words, not ours"
        doc["paths"]["/mailbox_domains"]["get"]["description"] = "Upstream words, not ours"
        doc["components"]["schemas"]["DomainResponse"]["properties"]["status"]["description"] = "Upstream"
        doc["components"]["schemas"]["DomainResponse"]["properties"]["status"]["examples"] = ["theirs"]

    project = copy_project(tmp_path / "project")
    result = run(project, "--upstream", str(write_variant(reference, tmp_path, reword)), "--check")
    assert result.returncode == 0, result.stdout


def test_our_edited_description_survives_a_sync(tmp_path: Path, reference: dict[str, Any]) -> None:
    project = copy_project(tmp_path / "project")
    path = project / "openapi" / "mailbox_domains.yaml"
    path.write_text(path.read_text().replace("Purpose of a TXT record.", "What a TXT record is for."))
    edited = path.read_text()
    result = run(project, "--upstream", str(write_variant(reference, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_text() == edited
    assert fragment_of(project)["components"]["schemas"]["DNSRecordPurpose"]["description"] == (
        "What a TXT record is for."
    )


def test_lint_flags_an_operation_or_schema_without_a_description(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    assert run(project, "--lint-descriptions").returncode == 0
    fragment = fragment_of(project)
    del fragment["components"]["schemas"]["VerifyResponse"]["description"]
    del fragment["paths"]["/auth/token"]["post"]["description"]
    (project / "openapi" / "mailbox_domains.yaml").write_text(yaml.safe_dump(fragment, sort_keys=False))
    result = run(project, "--lint-descriptions")
    assert result.returncode == 1
    assert "schema VerifyResponse has no description" in result.stdout
    assert "operation POST /auth/token (post_auth_token) has no description" in result.stdout


# --- upstream moves: a new optional field and a new enum value --------------------------------------


def _new_field_and_enum_value(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    schemas["DomainResponse"]["properties"]["verified_at"] = {
        "type": "string",
        "format": "date-time",
        "title": "Verified At",
        "description": "Upstream prose that must not be copied",
    }
    schemas["DNSRecordType"]["enum"].append("AAAA")


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory, reference: dict[str, Any]) -> tuple[Path, str, str]:
    """A copy synced from a variant with a new optional field and a new enum value, regenerated."""
    folder = tmp_path_factory.mktemp("moved")
    project = copy_project(folder / "project")
    upstream = write_variant(reference, folder, _new_field_and_enum_value)
    check = run(project, "--upstream", str(upstream), "--check")
    synced = run(project, "--upstream", str(upstream))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    generate(project)
    return project, check.stdout + f"\nexit {check.returncode}", synced.stdout


def test_check_fails_with_the_spec_diff_when_upstream_moved(moved: tuple[Path, str, str]) -> None:
    _, check, _ = moved
    assert check.endswith("exit 1"), check
    assert "upstream has moved" in check
    assert "[response-field-added] get_mailbox_domains response 200 .data[].verified_at" in check
    added = (
        "[enum-value-added] post_mailbox_domains response 201 .dns_records<anyOf[0]>.sending_dns_records[]"
    )
    assert f'{added}.record_type: - -> "AAAA"' in check
    assert "Breaking changes (0):" in check
    assert "Result: compatible: 0 breaking, 6 non-breaking" in check


def test_the_fragment_takes_the_new_field_and_enum_value_without_their_prose(
    moved: tuple[Path, str, str],
) -> None:
    project, _, synced = moved
    schemas = fragment_of(project)["components"]["schemas"]
    assert schemas["DomainResponse"]["properties"]["verified_at"] == {"type": "string", "format": "date-time"}
    assert "verified_at" not in schemas["DomainResponse"]["required"]
    assert schemas["DNSRecordType"]["enum"] == ["TXT", "MX", "CNAME", "AAAA"]
    text = (project / "openapi" / "mailbox_domains.yaml").read_text()
    assert "Upstream prose" not in text
    assert "Verified At" not in text
    assert "1 new element needs a description" in synced
    assert "property components/schemas/DomainResponse/properties/verified_at" in synced
    # Everything else is as committed: our prose stays.
    assert schemas["DomainResponse"]["description"] == "A mailbox domain."


def test_the_spec_diff_calls_it_non_breaking(moved: tuple[Path, str, str]) -> None:
    project, _, _ = moved
    report = spec_diff.diff(spec_diff.load_document(str(FRAGMENT)), fragment_of(project))
    kinds = {(c.kind, c.breaking) for c in report.changes}
    assert kinds == {("enum-value-added", False), ("response-field-added", False)}, report.to_text()
    assert report.breaking == []


def test_the_generated_models_follow(moved: tuple[Path, str, str]) -> None:
    project, _, _ = moved
    models = project / "generated" / "monite_generated" / "models"
    assert "verified_at" in (models / "domain_response.py").read_text()
    assert "AAAA" in (models / "dns_record_type.py").read_text()
    ours = ROOT / "generated" / "monite_generated" / "models" / "domain_response.py"
    assert "verified_at" not in ours.read_text()


# --- upstream moves: a required field removed ----------------------------------------------------------


def test_a_removed_required_field_is_breaking_and_named(tmp_path: Path, reference: dict[str, Any]) -> None:
    def remove_status(doc: dict[str, Any]) -> None:
        verify = doc["components"]["schemas"]["VerifyResponse"]
        del verify["properties"]["status"]
        verify["required"].remove("status")

    project = copy_project(tmp_path / "project")
    upstream = write_variant(reference, tmp_path, remove_status)
    check = run(project, "--upstream", str(upstream), "--check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "Breaking changes (1):" in check.stdout
    breaking = check.stdout.split("Breaking changes (1):")[1].split("Non-breaking")[0]
    assert "VerifyResponse" in breaking or "verify" in breaking
    assert "status" in breaking
    assert (project / "openapi" / "mailbox_domains.yaml").read_bytes() == FRAGMENT.read_bytes()
    synced = run(project, "--upstream", str(upstream))
    assert synced.returncode == 0
    verify = fragment_of(project)["components"]["schemas"]["VerifyResponse"]
    assert "status" not in verify["properties"]
    assert verify["required"] == ["id", "domain"]


def test_an_operation_gone_upstream_is_dropped_and_breaking(
    tmp_path: Path, reference: dict[str, Any]
) -> None:
    def drop_verify(doc: dict[str, Any]) -> None:
        del doc["paths"]["/mailbox_domains/{domain_id}/verify"]

    project = copy_project(tmp_path / "project")
    upstream = write_variant(reference, tmp_path, drop_verify)
    check = run(project, "--upstream", str(upstream), "--check")
    assert check.returncode == 1
    assert "upstream no longer has post_mailbox_domains_id_verify: dropped from the fragment" in check.stdout
    assert "[operation-removed] POST /mailbox_domains/{domain_id}/verify" in check.stdout
    assert run(project, "--upstream", str(upstream)).returncode == 0
    fragment = fragment_of(project)
    assert "/mailbox_domains/{domain_id}/verify" not in fragment["paths"]
    assert "VerifyResponse" not in fragment["components"]["schemas"]  # nothing else references it


def test_a_moved_operation_keeps_our_prose(tmp_path: Path, reference: dict[str, Any]) -> None:
    def move_verify(doc: dict[str, Any]) -> None:
        doc["paths"]["/mailbox_domains/{domain_id}/verification"] = doc["paths"].pop(
            "/mailbox_domains/{domain_id}/verify"
        )

    project = copy_project(tmp_path / "project")
    result = run(project, "--upstream", str(write_variant(reference, tmp_path, move_verify)))
    assert result.returncode == 0, result.stdout + result.stderr
    operation = fragment_of(project)["paths"]["/mailbox_domains/{domain_id}/verification"]["post"]
    ours = fragment_of(ROOT)["paths"]["/mailbox_domains/{domain_id}/verify"]["post"]
    assert operation["summary"] == ours["summary"]
    assert operation["description"] == ours["description"]
    assert operation["parameters"] == ours["parameters"]
    assert "new element" not in result.stdout


# --- ADD=get_mailboxes -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_mailboxes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("add")
    project = copy_project(folder / "project")
    result = run(project, "--upstream", str(write_upstream_with_mailboxes(folder)), "--add", "get_mailboxes")
    assert result.returncode == 0, result.stdout + result.stderr
    generate(project)
    return project, result.stdout


def test_add_brings_the_operation_its_entity_header_and_its_schemas(with_mailboxes: tuple[Path, str]) -> None:
    project, _ = with_mailboxes
    fragment = fragment_of(project)
    operation = fragment["paths"]["/mailboxes"]["get"]
    assert operation["operationId"] == "get_mailboxes"
    assert operation["tags"] == ["Mailboxes"]
    parameters = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert parameters[("header", "x-monite-entity-id")] == {
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
        "name": "x-monite-entity-id",
        "in": "header",
    }
    # The deviations apply to it as to the six: our version header, the 429 response.
    version = parameters[("header", "x-monite-version")]
    assert version["schema"] == {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    assert operation["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert sorted(operation["responses"]) == ["200", "401", "403", "405", "422", "429", "500"]
    schemas = fragment["components"]["schemas"]
    assert {"MailboxDataResponse", "MailboxResponse"} <= set(schemas)
    upstream_mailbox = upstream_with_mailboxes()["components"]["schemas"]["MailboxResponse"]
    assert schemas["MailboxResponse"]["required"] == upstream_mailbox["required"]
    assert list(schemas) == sorted(schemas)


def test_add_copies_no_upstream_description(with_mailboxes: tuple[Path, str]) -> None:
    project, stdout = with_mailboxes
    fragment = fragment_of(project)
    operation = fragment["paths"]["/mailboxes"]["get"]
    assert "summary" not in operation
    assert "description" not in operation
    entity = next(p for p in operation["parameters"] if p["name"] == "x-monite-entity-id")
    assert "description" not in entity
    assert all(r.get("description", "") == "" for r in operation["responses"].values())
    assert "description" not in fragment["components"]["schemas"]["MailboxResponse"]["properties"]["id"]
    text = (project / "openapi" / "mailbox_domains.yaml").read_text()
    upstream_op = upstream_with_mailboxes()["paths"]["/mailboxes"]["get"]
    for prose in (upstream_op["summary"], upstream_op["description"], "Mailbox UUID", "Successful Response"):
        assert prose not in text
    assert "18 new elements need a description" in stdout
    assert "  - operation GET /mailboxes" in stdout
    assert "  - schema components/schemas/MailboxResponse" in stdout
    # `make lint` would stop here until a person writes them.
    lint = run(project, "--lint-descriptions")
    assert lint.returncode == 1
    assert "operation GET /mailboxes (get_mailboxes) has no description" in lint.stdout


def test_add_generates_the_new_module_and_the_diff_is_one_added_operation(
    with_mailboxes: tuple[Path, str],
) -> None:
    project, _ = with_mailboxes
    module = project / "generated" / "monite_generated" / "api" / "mailboxes" / "get_mailboxes.py"
    assert "x_monite_entity_id" in module.read_text()
    assert (project / "generated" / "monite_generated" / "models" / "mailbox_response.py").is_file()
    report = spec_diff.diff(spec_diff.load_document(str(FRAGMENT)), fragment_of(project))
    assert [(c.kind, c.location, c.breaking) for c in report.changes] == [
        ("operation-added", "GET /mailboxes", False)
    ]


def test_add_of_an_unknown_operation_is_refused(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    result = run(project, "--upstream", str(REFERENCE), "--add", "get_no_such_thing")
    assert result.returncode == 2
    assert "upstream has no operation 'get_no_such_thing'" in result.stderr


# --- the URL form ------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 (ephemeral port) serving files of a temporary folder."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_url_form_reads_a_served_document(
    served: tuple[str, Path], tmp_path: Path, reference: dict[str, Any]
) -> None:
    base, folder = served
    project = copy_project(tmp_path / "project")
    write_variant(reference, folder)
    (folder / "moved").mkdir()
    write_variant(reference, folder / "moved", _new_field_and_enum_value)

    same = run(project, "--upstream", f"{base}/upstream.json", "--check")
    assert same.returncode == 0, same.stdout + same.stderr
    assert f"{base}/upstream.json: OpenAPI 3.1.0, info.version 2024-05-25" in same.stdout

    moved = run(project, "--upstream", f"{base}/moved/upstream.json", "--check")
    assert moved.returncode == 1, moved.stdout + moved.stderr
    assert "AAAA" in moved.stdout

    missing = run(project, "--upstream", f"{base}/nothing-here.json", "--check")
    assert missing.returncode == 2
    assert "cannot fetch" in missing.stderr


# --- .github/workflows/upstream.yml -----------------------------------------------------------------------

WORKFLOW = ROOT / ".github" / "workflows" / "upstream.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return document


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in workflow["jobs"].items() for step in spec["steps"]]


def test_the_workflow_runs_daily_and_on_demand(workflow: dict[str, Any]) -> None:
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert len(triggers["schedule"]) == 1
    minute, hour, *rest = triggers["schedule"][0]["cron"].split()
    assert rest == ["*", "*", "*"]
    assert minute.isdigit()
    assert hour.isdigit()


def test_the_workflow_pins_actions_and_keeps_permissions_per_job(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["sync"]["permissions"] == {"contents": "read"}
    assert set(workflow["jobs"]["pull-request"]["permissions"]) == {"contents", "pull-requests", "issues"}
    text = WORKFLOW.read_text()
    uses = [step["uses"] for _, step in _steps(workflow) if "uses" in step]
    assert uses
    for use in uses:
        action, _, ref = use.partition("@")
        assert action.split("/")[0] == "actions", use  # no third-party actions
        assert len(ref) == 40, use
        assert all(c in "0123456789abcdef" for c in ref), use
        assert f"{use} # v" in text, f"{use} needs a `# vX` comment"
    for _, step in _steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        # No template injection: expressions reach scripts through env:, never inline.
        assert "${{" not in step.get("run", ""), step.get("name")


def test_the_workflow_syncs_generates_tests_then_opens_the_pull_request(workflow: dict[str, Any]) -> None:
    runs = "\n".join(step.get("run", "") for _, step in _steps(workflow))
    steps = (
        "make install",
        "make --no-print-directory sync-spec",
        "make generate && make test",
        "spec_diff.py",
    )
    order = [runs.index(s) for s in steps]
    assert order == sorted(order)
    makefile = (ROOT / "Makefile").read_text()
    for target in ("install", "sync-spec", "generate", "test"):
        assert f"\n{target}:" in makefile, target
    assert workflow["jobs"]["pull-request"]["needs"] == "sync"
    pr_run = "\n".join(step.get("run", "") for job, step in _steps(workflow) if job == "pull-request")
    assert "gh pr create" in pr_run
    assert "gh pr edit" in pr_run
    assert "--add-label breaking" in pr_run
    # The job with a write token runs no project code.
    assert not re.search(r"(^|[;&|{]\s*)make\s", pr_run, re.MULTILINE)
    assert ".venv" not in pr_run
    assert "python" not in pr_run
    assert 'refs/heads/$BRANCH"' in pr_run
    assert workflow["env"]["BRANCH"] == "upstream-sync"


def test_the_workflow_is_zizmor_clean() -> None:
    zizmor = ROOT / ".venv" / "bin" / "zizmor"
    if not zizmor.is_file():
        pytest.skip("zizmor is not installed in .venv (pip install zizmor)")
    result = subprocess.run(  # noqa: S603
        [str(zizmor), "--offline", "--persona=auditor", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _step(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for _, step in _steps(workflow) if step.get("name") == name)


@pytest.fixture
def ci_checkout(tmp_path: Path) -> Path:
    """A git repository like the workflow's checkout (openapi/reference/ included), and the
    runner's temporary folder beside it, where the workflow fetches Monite's document."""
    repo = copy_project(tmp_path / "repo")
    shutil.copy2(ROOT / "Makefile", repo / "Makefile")
    (repo / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    os.utime(repo / "pyproject.toml", (0, 0))  # older than .venv/.installed: make installs nothing
    (tmp_path / "runner-temp").mkdir()
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "openapi", "scripts", "generated"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *identity, *args], cwd=repo, check=True, timeout=30, capture_output=True)  # noqa: S603, S607
    return repo


def fetched(repo: Path) -> Path:
    """Where the fetch step leaves Monite's document: the runner's temporary folder."""
    return repo.parent / "runner-temp" / "monite-partner-api.json"


def _run_step(
    workflow: dict[str, Any], name: str, repo: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    temp = repo.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    output = temp / "github-output"
    output.unlink(missing_ok=True)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
        **workflow["env"],
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(temp / "summary"),
        "RUNNER_TEMP": str(temp),
        **env,
    }
    result = subprocess.run(  # noqa: S603
        ["bash", "-e", "-c", _step(workflow, name)["run"]],  # noqa: S607  (how GitHub runs `run:`)
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, output.read_text() if output.exists() else ""


def test_the_sync_step_finds_nothing_new_on_the_unchanged_reference(
    workflow: dict[str, Any], ci_checkout: Path
) -> None:
    write_upstream_with_mailboxes(ci_checkout.parent).rename(fetched(ci_checkout))
    cut = ci_checkout / "openapi" / "reference" / "mailbox_domains.upstream.json"
    cut.write_text("{}")  # the step rewrites the repository's cut from what it fetched
    result, output = _run_step(workflow, "make sync-spec", ci_checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output == "changed=false\n"
    assert cut.read_bytes() == CUT.read_bytes()


def test_the_sync_step_fails_when_the_sync_fails(workflow: dict[str, Any], ci_checkout: Path) -> None:
    fetched(ci_checkout).write_text("{}")
    result, output = _run_step(workflow, "make sync-spec", ci_checkout)
    assert result.returncode != 0
    assert output == ""


def test_the_sync_and_body_steps_on_a_breaking_upstream(
    workflow: dict[str, Any], ci_checkout: Path, reference: dict[str, Any]
) -> None:
    def remove_status(doc: dict[str, Any]) -> None:
        verify = doc["components"]["schemas"]["VerifyResponse"]
        del verify["properties"]["status"]
        verify["required"].remove("status")

    write_variant(reference, ci_checkout.parent, remove_status).rename(fetched(ci_checkout))
    result, output = _run_step(workflow, "make sync-spec", ci_checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output == "changed=true\n"
    result, output = _run_step(workflow, "Spec diff and pull request body", ci_checkout, TESTS="passed")
    assert result.returncode == 0, result.stdout + result.stderr
    assert output == "breaking=true\n"
    out = ci_checkout.parent / "runner-temp" / "out"
    body = (out / "body.md").read_text()
    assert "Breaking changes (1):" in body
    assert "status" in body
    assert "## make test: passed" in body
    listing = subprocess.run(  # noqa: S603
        ["tar", "-tzf", str(out / "files.tgz")],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()
    assert "openapi/mailbox_domains.yaml" in listing
    assert "openapi/reference/mailbox_domains.upstream.json" in listing  # moves with the fragment
    assert any(name.startswith("generated/monite_generated/") for name in listing)
    assert not any("__pycache__" in name for name in listing)
