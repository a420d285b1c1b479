"""A fake Monite for your tests: the SDK's six operations, in memory, with scriptable faults.

Needs the `testing` extra (`pip install '.[testing]'` from a checkout of monite_async)::

    from monite_async import MoniteClient
    from monite_async.testing import FakeMonite

    async def test_create_domain() -> None:
        fake = FakeMonite()
        fake.faults.fail_next("post_mailbox_domains", status=503)  # the SDK retries it
        async with MoniteClient(client_id=fake.client_id, client_secret=fake.client_secret,
                                base_url=fake.base_url, transport=fake.transport()) as monite:
            domain = await monite.mailbox_domains.create("mail.example.com")
        assert fake.domains[0]["domain"] == "mail.example.com"

For pytest fixtures, add `pytest_plugins = ["monite_async.testing.pytest_plugin"]`.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as _missing:  # pragma: no cover - depends on the installation
    raise ImportError(
        "monite_async.testing needs the 'testing' extra: "
        "pip install '.[testing]' from a checkout of monite_async"
    ) from _missing

from ._app import KNOWN_VERSIONS, STALE_TOKEN_MESSAGE, ConnectionDropped, RecordedRequest
from ._fake import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeMonite
from ._faults import OPERATION_IDS, Faults

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "KNOWN_VERSIONS",
    "OPERATION_IDS",
    "STALE_TOKEN_MESSAGE",
    "ConnectionDropped",
    "FakeMonite",
    "Faults",
    "RecordedRequest",
]
