"""Raw requests to the fake Monite, for tests of the fake itself (no SDK in between)."""

from __future__ import annotations

from monite_async.testing import FakeMonite

VERSION = {"x-monite-version": "2024-05-25"}


def auth(fake: FakeMonite) -> dict[str, str]:
    """Headers of a signed request: the version and a fresh token the fake issued."""
    return {**VERSION, "authorization": f"Bearer {fake.issue_token()}"}
