"""New operations for free: add an upstream operation to the fragment, regenerate, call it.

On a temporary copy of the project, `GET /mailboxes` (upstream's `get_mailboxes`, which also
needs an `x-monite-entity-id` header) is added to the fragment exactly as Monite's spec has
it, with the same deviations as the other operations (DEVIATIONS.md). The copy is
regenerated and, with the copy first on `sys.path`, the new operation runs through
`MoniteClient.call(...)` against the fake Monite, extended here for that path: token
fetched and sent, version pinned, a 500 retried, a 403 and a 404 raised as typed errors.
No file of the facade is edited.
"""

from __future__ import annotations

import copy
import filecmp
import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from readme_blocks import python_blocks, run_type_checkers, wrap_fragment
from reference_data import upstream_with_mailboxes
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("openapi", "scripts", "generated", "monite_async", "pyproject.toml")
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _files(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def add_upstream_operation(fragment: dict[str, Any], upstream: dict[str, Any], path: str, method: str) -> str:
    """Copy one upstream operation and every schema it reaches into the fragment; return its operationId."""
    operation = copy.deepcopy(upstream["paths"][path][method])
    # The same deviations as the six operations we ship (openapi/DEVIATIONS.md).
    our_version_header = next(
        p
        for p in fragment["paths"]["/mailbox_domains"]["get"]["parameters"]
        if p["name"] == "x-monite-version"
    )
    operation["parameters"] = [
        copy.deepcopy(our_version_header) if p["name"] == "x-monite-version" else p
        for p in operation["parameters"]
    ]
    operation["responses"]["429"] = {"$ref": "#/components/responses/TooManyRequests"}
    fragment["paths"].setdefault(path, {})[method] = operation

    schemas = fragment["components"]["schemas"]
    pending = list(_refs(operation))
    while pending:
        ref = pending.pop()
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix) or ref[len(prefix) :] in schemas:
            continue
        name = ref[len(prefix) :]
        schemas[name] = copy.deepcopy(upstream["components"]["schemas"][name])
        pending.extend(_refs(schemas[name]))
    return str(operation["operationId"])


# Runs inside the copy. argv: the copy's folder, the entity ID the fake knows, "str" or "uuid".
PROGRAM = textwrap.dedent(
    """
    import asyncio
    import json
    import sys
    import uuid
    from pathlib import Path

    import httpx2
    import monite_async
    import monite_generated
    from monite_async.testing import FakeMonite
    from monite_generated.api.mailboxes import get_mailboxes

    project, entity_id = Path(sys.argv[1]).resolve(), sys.argv[2]
    # The generated signature types the header as UUID; a str works on the wire as well.
    entity = uuid.UUID(entity_id) if sys.argv[3] == "uuid" else entity_id
    # The copy shadows the installed packages: this is the regenerated code, not the project's.
    for module in (monite_async, monite_generated, get_mailboxes):
        assert Path(module.__file__).resolve().is_relative_to(project), module.__file__

    fake = FakeMonite()
    seen = []  # (headers, status) of each GET /mailboxes
    script = [500, 200]  # answers for the entity the fake knows, in order; then 200s


    async def mailboxes(scope, receive, send):
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in fake.app.state.tokens:
            status, body = 401, {"error": {"message": "Not authenticated"}}
        elif headers.get("x-monite-entity-id") != entity_id:
            known = headers.get("x-monite-entity-id") == "00000000-0000-4000-8000-000000000403"
            status = 403 if known else 404
            body = {"error": {"message": "Forbidden" if known else "Entity not found"}}
        else:
            status = script.pop(0) if script else 200
            body = {"error": {"message": "boom"}} if status == 500 else {"data": [{
                "id": "1d4ad1a5-3c45-4bb6-8b3c-5f0a6b0fc8a1",
                "mailbox_domain_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                "mailbox_full_address": "invoices@mail.example.com",
                "mailbox_name": "invoices",
                "related_object_type": "payable",
                "status": "active",
            }]}
        seen.append((headers, status))
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"x-monite-version", headers.get("x-monite-version", "").encode())]})
        await send({"type": "http.response.body", "body": payload})


    async def app(scope, receive, send):
        # The fake serves the six operations; this test teaches it the seventh.
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/v1/mailboxes":
            await mailboxes(scope, receive, send)
        else:
            await fake.app(scope, receive, send)


    async def no_wait(seconds):
        return None


    async def main():
        async with monite_async.MoniteClient(
            client_id=fake.client_id,
            client_secret=fake.client_secret,
            base_url=fake.base_url,
            transport=httpx2.ASGITransport(app=app),
            retry_policy=monite_async.RetryPolicy(sleep=no_wait),
        ) as monite:
            listing = await monite.call(get_mailboxes, x_monite_entity_id=entity)
            detailed = await monite.call(get_mailboxes.asyncio_detailed, x_monite_entity_id=entity)
            errors = {}
            for other in ("00000000-0000-4000-8000-000000000403", "00000000-0000-4000-8000-000000000404"):
                try:
                    await monite.call(get_mailboxes, x_monite_entity_id=other)
                except monite_async.MoniteAPIError as exc:
                    errors[exc.status_code] = type(exc).__name__
        assert type(listing).__name__ == "MailboxDataResponse", type(listing)
        assert type(listing).__module__.startswith("monite_generated.models"), type(listing).__module__
        addresses = [m.mailbox_full_address for m in listing.data]
        print(json.dumps({
            "addresses": addresses,
            "detailed_status": int(detailed.status_code),
            "detailed_addresses": [m.mailbox_full_address for m in detailed.parsed.data],
            "statuses": [status for _, status in seen],
            "authorization": [h.get("authorization", "").startswith("Bearer ") for h, _ in seen],
            "tokens_valid": all(
                h["authorization"].removeprefix("Bearer ") in fake.app.state.tokens for h, _ in seen
            ),
            "versions": sorted({h.get("x-monite-version") for h, _ in seen}),
            "entity_ids": [h.get("x-monite-entity-id") for h, _ in seen],
            "token_requests": fake.token_requests,
            "errors": {str(k): v for k, v in errors.items()},
            "api_version": monite_async.API_VERSION,
        }))


    asyncio.run(main())
    """
)


@pytest.fixture(scope="module")
def project_with_get_mailboxes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("new-operation") / "project"
    project.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", ".*cache"))
        else:
            shutil.copy2(source, project / name)

    fragment_path = project / "openapi" / "mailbox_domains.yaml"
    fragment = yaml.safe_load(fragment_path.read_text())
    upstream = upstream_with_mailboxes()  # Monite's text of GET /mailboxes (openapi/reference/)
    assert add_upstream_operation(fragment, upstream, "/mailboxes", "get") == "get_mailboxes"
    fragment_path.write_text(yaml.safe_dump(fragment, sort_keys=False, allow_unicode=True))

    result = subprocess.run(  # noqa: S603
        [str(VENV_PYTHON), str(project / "scripts" / "generate.py")],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def test_the_new_operation_is_generated_with_its_entity_header(project_with_get_mailboxes: Path) -> None:
    module = (
        project_with_get_mailboxes
        / "generated"
        / "monite_generated"
        / "api"
        / "mailboxes"
        / "get_mailboxes.py"
    )
    source = module.read_text()
    assert "async def asyncio_detailed(" in source
    assert "x_monite_entity_id" in source
    assert '"url": "/mailboxes"' in source
    models = project_with_get_mailboxes / "generated" / "monite_generated" / "models"
    assert (models / "mailbox_data_response.py").is_file()
    assert (models / "mailbox_response.py").is_file()
    # The real project is untouched.
    assert not (ROOT / "generated" / "monite_generated" / "api" / "mailboxes").exists()


def test_the_spec_diff_calls_it_an_added_operation_and_nothing_breaking(
    project_with_get_mailboxes: Path,
) -> None:
    spec_diff = load_script("spec_diff")
    report = spec_diff.diff(
        spec_diff.load_document(str(ROOT / "openapi" / "mailbox_domains.yaml")),
        spec_diff.load_document(str(project_with_get_mailboxes / "openapi" / "mailbox_domains.yaml")),
    )
    assert [(c.kind, c.location, c.breaking) for c in report.changes] == [
        ("operation-added", "GET /mailboxes", False)
    ]


# The generated signature types the header as UUID; callers pass a UUID or its text.
@pytest.mark.parametrize("entity_id_as", ["str", "uuid"])
def test_monite_call_runs_it_with_auth_version_retries_and_errors(
    project_with_get_mailboxes: Path, entity_id_as: str
) -> None:
    project = project_with_get_mailboxes
    # "No facade edit": the copy's hand-written monite_async is byte for byte the project's
    # (`make generate` renders resources/_generated/ from the spec: that part grows).
    ours = [f for f in _files(ROOT / "monite_async") if "_generated" not in f]
    theirs = [f for f in _files(project / "monite_async") if "_generated" not in f]
    assert ours == theirs
    _, mismatch, errors = filecmp.cmpfiles(
        ROOT / "monite_async", project / "monite_async", ours, shallow=False
    )
    assert mismatch == errors == []

    entity_id = "9d2b4c8f-2087-4738-ba91-7359683c49a4"
    env = {
        **os.environ,
        # The copy first: its monite_async and regenerated monite_generated shadow the installed ones.
        "PYTHONPATH": os.pathsep.join([str(project), str(project / "generated")]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(  # noqa: S603
        [str(VENV_PYTHON), "-c", PROGRAM, str(project), entity_id, entity_id_as],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])

    assert outcome["addresses"] == ["invoices@mail.example.com"]
    assert outcome["detailed_status"] == 200
    assert outcome["detailed_addresses"] == ["invoices@mail.example.com"]
    # The scripted 500 was retried; later calls went straight through; 403 and 404 were not retried.
    assert outcome["statuses"] == [500, 200, 200, 403, 404]
    assert outcome["authorization"] == [True] * 5
    assert outcome["tokens_valid"] is True
    assert outcome["token_requests"] == 1
    assert outcome["versions"] == [outcome["api_version"]] == ["2024-05-25"]
    assert outcome["entity_ids"][:3] == [entity_id] * 3
    assert outcome["errors"] == {"403": "PermissionDeniedError", "404": "NotFoundError"}


def test_the_readme_block_type_checks_in_the_regenerated_project(
    project_with_get_mailboxes: Path, tmp_path: Path
) -> None:
    """The "A new operation needs no facade change" block of docs/regenerating.md, under mypy --strict and
    strict pyright, in the only place its imports exist: this regenerated project (its copy of
    monite_async and monite_generated first on both checkers' paths). The block is a fragment
    (it uses the `monite` and `entity_id` its prose introduces, and a top-level await), so it
    is wrapped as tests/readme_blocks.py documents."""
    (block,) = python_blocks("## A new operation needs no facade change", "docs/regenerating.md")
    (tmp_path / "new_operation.py").write_text(
        wrap_fragment(
            block,
            "monite: MoniteClient, entity_id: str",
            param_imports=("from monite_async import MoniteClient",),
        )
    )
    project = project_with_get_mailboxes
    run_type_checkers(
        tmp_path, ["new_operation.py"], extra_paths=(project, project / "generated"), fragment=True
    )
