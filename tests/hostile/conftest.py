"""Fixtures of the hostile-server suites."""

from collections.abc import Iterator

import pytest

import monite_async

from .raw_server import RawServer


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    """A `RawServer` for one test, stopped afterwards."""
    with RawServer() as server:
        yield server


@pytest.fixture(autouse=True)
def instant_waits() -> Iterator[None]:
    """Retry waits instant (public `set_testing`): the cases stay fast, deadlines still hold."""
    monite_async.set_testing(True)
    try:
        yield
    finally:
        monite_async.set_testing(False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from . import tally

    if tally.cases:
        terminalreporter.write_line(tally.summary())
