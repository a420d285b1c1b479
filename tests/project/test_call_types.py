"""Which of the project's own operations `call()` types, by the renderer's rule (scripts/render_calls.py).

The module form of every operation has an overload; a function form has one unless another
operation's function could match its signature. In our fragment that excludes exactly the
functions of `delete_mailbox_domains_id` (its 204 answer is typed `Any` by the generator) and
of `post_mailbox_domains_id_verify` (the same `domain_id` parameter): docs/regenerating.md says
so, and the rendered calls.py lists them. mypy and pyright themselves are run on the rendered
overloads in tests/project/test_new_operation.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from script_loader import load_script

render_calls = load_script("render_calls")  # first: render_resources imports it by name
render_resources = load_script("render_resources")

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated" / "monite_generated"
CALLS = ROOT / "monite_async" / "resources" / "_generated" / "calls.py"
UNTYPED = {
    (operation, form)
    for operation in ("delete_mailbox_domains_id", "post_mailbox_domains_id_verify")
    for form in ("asyncio", "asyncio_detailed", "sync", "sync_detailed")
}


@pytest.fixture(scope="module")
def operations() -> list[Any]:
    spec = render_resources.Spec(
        yaml.safe_load((ROOT / "openapi" / "mailbox_domains.yaml").read_text()),
        render_resources.models_of(GENERATED),
    )
    found = []
    for source in sorted((GENERATED / "api").glob("*/*_*.py")):
        if source.name == "__init__.py":
            continue
        module = f"monite_generated.api.{source.parent.name}.{source.stem}"
        operation = next(
            op
            for item in spec.doc["paths"].values()
            for op in item.values()
            if op["operationId"] == source.stem
        )
        success = render_calls.success_types(operation, spec.model)
        found.append(render_calls.read_operation(source, module, success, {}))
    return found


def test_every_function_form_is_typed_but_the_two_confusable_operations(
    operations: list[Any],
) -> None:
    models = render_resources.models_of(GENERATED)
    kept = render_calls.typed_forms(operations, render_calls.ASYNC_FORMS, models) | render_calls.typed_forms(
        operations, render_calls.SYNC_FORMS, models
    )
    every = {(op.operation_id, form) for op in operations for form in op.forms}
    assert len(operations) == 6
    assert every - kept == UNTYPED


def test_a_204_typed_any_matches_the_other_operations_protocol_both_ways(
    operations: list[Any],
) -> None:
    by_id = {op.operation_id: op for op in operations}
    models = render_resources.models_of(GENERATED)
    delete, verify = by_id["delete_mailbox_domains_id"], by_id["post_mailbox_domains_id_verify"]
    assert "Any" in delete.forms["asyncio"].members
    assert render_calls.may_match(delete.forms["asyncio"], verify.forms["asyncio"], models)
    assert render_calls.may_match(verify.forms["asyncio"], delete.forms["asyncio"], models)
    # Different parameters, or answers that name different models, rule a match out.
    listing, create = by_id["get_mailbox_domains"], by_id["post_mailbox_domains"]
    assert not render_calls.may_match(listing.forms["asyncio"], verify.forms["asyncio"], models)
    assert not render_calls.may_match(
        create.forms["asyncio"], by_id["post_auth_revoke"].forms["asyncio"], models
    )
    # A plain function never passes for an async one.
    assert not render_calls.may_match(verify.forms["sync"], verify.forms["asyncio"], models)


def test_the_rendered_module_lists_what_it_leaves_untyped() -> None:
    text = CALLS.read_text()
    doc = " ".join(text.split('"""')[1].split())
    listed = set(re.findall(r"(\w+)\.(asyncio_detailed|asyncio|sync_detailed|sync)\b", doc))
    assert listed == UNTYPED
    for operation, form in UNTYPED:
        protocol = (
            "_"
            + "".join(p.title() for p in operation.split("_"))
            + "".join(p.title() for p in form.split("_"))
        )
        assert f"class {protocol}(" not in text
