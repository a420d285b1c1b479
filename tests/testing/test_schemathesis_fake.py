"""Schemathesis against the fake Monite, in process: every answer must match our fragment.

Seeded (derandomized) and bounded. Requests carry a valid token and a known
`x-monite-version`, so they reach the operations themselves; the header and token rules
have their own tests in test_fake_app.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from monite_async.testing import FakeMonite

FRAGMENT = Path(__file__).resolve().parents[2] / "openapi" / "mailbox_domains.yaml"
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# One fake for the whole module: domains created by one case show up in later lists.
FAKE = FakeMonite(verify_after=1)
# One in-process fake for the module's tests, which read what its earlier tests sent: under
# `make test`'s xdist workers they all run on one worker, in file order.
pytestmark = pytest.mark.xdist_group("test_schemathesis_fake")
HEADERS = {"x-monite-version": "2024-05-25", "Authorization": f"Bearer {FAKE.issue_token()}"}

schema = schemathesis.openapi.from_dict(yaml.safe_load(FRAGMENT.read_text(encoding="utf-8")))
schema.app = FAKE.app
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    deterministic=True,
    database="none",
    # Our token goes in HEADERS; generated Authorization values would only test the 401 path.
    with_security_parameters=False,
)


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_fake_answers_conform_to_the_fragment(case: schemathesis.Case) -> None:
    # Set on the case itself: a negative case may have dropped the header, and explicit
    # call headers do not bring it back.
    case.headers = {**(case.headers or {}), **HEADERS}
    case.call_and_validate(checks=CHECKS)


def test_fake_answered_every_operation(request: pytest.FixtureRequest) -> None:
    # Runs after the generated cases (pytest keeps file order): all six were exercised.
    seen = {entry.operation_id for entry in FAKE.requests} - {None}
    # Under `--dist loadgroup`, xdist suffixes a grouped test's id with `@<group>`.
    spread = os.environ.get("PYTEST_XDIST_WORKER") and "@" not in request.node.nodeid
    if not seen or spread:
        # Selected alone, or under xdist without `--dist loadgroup` (which `make test` passes):
        # the generated cases ran elsewhere, or on other workers.
        pytest.skip("run together with test_fake_answers_conform_to_the_fragment, in one process")
    assert seen == {
        "post_auth_token",
        "post_auth_revoke",
        "get_mailbox_domains",
        "post_mailbox_domains",
        "delete_mailbox_domains_id",
        "post_mailbox_domains_id_verify",
    }


def test_real_resources_conform_to_the_fragment() -> None:
    # Generated ids rarely hit a stored domain; these cases walk one domain through every
    # operation so the success answers (201, 200 verify, 204, token) are validated too.
    domain = FAKE.domains[0]["id"] if FAKE.domains else None
    if domain is None:
        created = schema["/mailbox_domains"]["POST"].Case(
            body={"domain": "walk.example.com"}, headers=HEADERS
        )
        domain = created.call_and_validate(checks=CHECKS).json()["id"]
    token_body = {
        "grant_type": "client_credentials",
        "client_id": FAKE.client_id,
        "client_secret": FAKE.client_secret,
    }
    cases = [
        schema["/auth/token"]["POST"].Case(body=token_body, headers=HEADERS),
        schema["/mailbox_domains/{domain_id}/verify"]["POST"].Case(
            path_parameters={"domain_id": domain}, headers=HEADERS
        ),
        schema["/mailbox_domains"]["GET"].Case(headers=HEADERS),
        schema["/mailbox_domains/{domain_id}"]["DELETE"].Case(
            path_parameters={"domain_id": domain}, headers=HEADERS
        ),
    ]
    statuses = [case.call_and_validate(checks=CHECKS).status_code for case in cases]

    assert statuses == [200, 200, 200, 204]
