"""pytest fixtures for testing your code against the fake Monite.

Enable them in your `conftest.py`::

    pytest_plugins = ["monite_async.testing.pytest_plugin"]

then::

    @pytest.mark.fake_monite(verify_after=1)        # optional: FakeMonite keyword arguments
    async def test_verify(fake_monite: FakeMonite) -> None:
        transport = fake_monite.transport()          # in process, no sockets
        ...

    def test_over_http(fake_monite_server: str) -> None:
        httpx.get(fake_monite_server + "/mailbox_domains")  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._fake import FakeMonite

_MARKER = "fake_monite"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{_MARKER}(**kwargs): keyword arguments for the FakeMonite fixture")


@pytest.fixture
def fake_monite(request: pytest.FixtureRequest) -> FakeMonite:
    """A fresh FakeMonite per test, configured by an optional `@pytest.mark.fake_monite(...)`."""
    marker = request.node.get_closest_marker(_MARKER)
    return FakeMonite(**(marker.kwargs if marker else {}))


@pytest.fixture
def fake_monite_server(fake_monite: FakeMonite) -> Iterator[str]:
    """`fake_monite` served by uvicorn on 127.0.0.1 (a free port, a background thread); the base URL."""
    with fake_monite.serve_in_thread() as base_url:
        yield base_url
