"""pytest fixtures for testing your code against the fake Monite.

Enable them in your `conftest.py`::

    pytest_plugins = ["monite_async.testing.pytest_plugin"]

then::

    @pytest.mark.asyncio                             # pytest-asyncio comes with the testing extra
    @pytest.mark.fake_monite(verify_after=1)        # optional: FakeMonite keyword arguments
    async def test_verify(fake_monite: FakeMonite) -> None:
        transport = fake_monite.transport()          # in process, no sockets
        ...

    def test_over_http(fake_monite_server: str) -> None:
        httpx2.get(fake_monite_server + "/mailbox_domains")  # http://127.0.0.1:PORT/v1

While a test uses `fake_monite` (or `fake_monite_server`), monite_async's retry waits are
instant (`monite_async.set_testing(True)`; the waits are still logged), and the previous
setting comes back after the test. `@pytest.mark.fake_monite(instant_retries=False)` keeps
the real waits for a test that measures them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .. import is_testing, set_testing
from ._fake import FakeMonite

_MARKER = "fake_monite"


def pytest_configure(config: pytest.Config) -> None:
    """Register the `fake_monite` marker."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(instant_retries=True, **kwargs): keyword arguments for the FakeMonite fixture; "
        "instant_retries=False keeps monite_async's real retry waits",
    )


@pytest.fixture
def fake_monite(request: pytest.FixtureRequest) -> Iterator[FakeMonite]:
    """A fresh FakeMonite per test, configured by an optional `@pytest.mark.fake_monite(...)`.

    Retry waits are instant for the test unless the marker says `instant_retries=False`.
    """
    marker = request.node.get_closest_marker(_MARKER)
    kwargs = dict(marker.kwargs) if marker else {}
    instant = kwargs.pop("instant_retries", True)
    fake = FakeMonite(**kwargs)
    before = is_testing()
    set_testing(bool(instant))
    try:
        yield fake
    finally:
        set_testing(before)


@pytest.fixture
def fake_monite_server(fake_monite: FakeMonite) -> Iterator[str]:
    """`fake_monite` served by uvicorn on 127.0.0.1 (a free port, a background thread); the base URL."""
    with fake_monite.serve_in_thread() as base_url:
        yield base_url
