"""Shared test set-up.

The test files sit in one folder per room of monite_async (tests/project/test_layout.py
holds the map and checks it); this file and the helpers beside it serve every folder
(pyproject's `pythonpath = ["tests"]` makes them importable by name, as before).
"""

# The fake Monite's fixtures (fake_monite, fake_monite_server), as users enable them; and
# tests/event_loops.py: the socket suites on asyncio (pytest-asyncio) and trio (anyio's plugin).
pytest_plugins = ["monite_async.testing.pytest_plugin", "event_loops"]


# --- Socket tests of monite_async (tests/loopback_server.py) --------------------------------
from collections.abc import AsyncIterator, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx2  # noqa: E402
import pytest  # noqa: E402
from loopback_server import LoopbackServer  # noqa: E402
from script_loader import load_script  # noqa: E402

import monite_async  # noqa: E402
from monite_async.testing import FakeMonite  # noqa: E402


@pytest.fixture
def loopback(transport_name: str) -> Iterator[LoopbackServer]:
    """A scriptable HTTP/1.1 server on 127.0.0.1, on an ephemeral port, for one test.

    Every test using it runs on httpx2's own transport and on the opt-in aiohttp backend
    (`monite_async.aiohttp_transport`), which must behave the same (`transport_name`, see
    tests/event_loops.py): its `client()` is built on that one. The server runs its own
    asyncio loop in a thread, so the test may run under asyncio or trio (aiohttp: asyncio only).
    """
    server = LoopbackServer(backend=transport_name)
    server.open()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """The same loopback server, for a test that makes its own clients (the blocking
    client's, or a trio test's): run once, not once per transport as `loopback` is."""
    loopback = LoopbackServer()
    loopback.open()
    try:
        yield loopback
    finally:
        loopback.close()


@pytest.fixture
def authority() -> object:
    """A certificate authority of the test's own (trustme): it issues a loopback server's
    certificate and is trusted by the client's SSL context, no system CA involved."""
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture
def instant_retries() -> Iterator[None]:
    """Make monite_async's retry waits instant (still logged with their length)."""
    monite_async.set_testing(True)
    try:
        yield
    finally:
        monite_async.set_testing(False)


@pytest.fixture
async def http(fake_monite: FakeMonite) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client on `fake_monite`, in process: raw requests to the fake itself."""
    async with httpx2.AsyncClient(
        transport=fake_monite.transport(), base_url=FakeMonite.base_url, timeout=5.0
    ) as client:
        yield client


# --- A real redis-server (tests/redis_server.py) ---------------------------------------------
from redis_server import RedisServer, find_binary  # noqa: E402


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of the test's own on 127.0.0.1 (never a mock); it can be killed and
    restarted on the same port (`kill()`, `start()`, `restart()`)."""
    binary = find_binary()
    if binary is None:
        pytest.fail("no redis-server: put one on PATH, set MONITE_TEST_REDIS_SERVER, or run `make install`")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --- pytest-xdist: `make test` runs the suite in parallel workers (`-n N --dist loadgroup`) ---

_SHARED_SCOPES = frozenset({"module", "class", "package"})


def pytest_configure(config: pytest.Config) -> None:
    # Declared here too: `--strict-markers` knows it when xdist is not loaded (-p no:xdist).
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one pytest-xdist worker")


def _parallel(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) or hasattr(config, "workerinput")


@pytest.hookimpl(trylast=True)  # after tests/event_loops.py has swapped in the trio items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the toolchain's tests first: they are the longest (a generator run, a
    fresh venv, mypy and pyright), and a worker that starts one last keeps the whole run
    waiting for it while the others have nothing left. Longest first is the classic cure;
    the slowest behaviour tests (SLOW_FIRST) come next, for the other Pythons' runs too.
    The order is the same on every worker (xdist requires it); a serial run keeps its order."""
    if not _parallel(config):
        return
    # A worker under `--dist loadgroup`: pytest-xdist has suffixed each grouped test's id with
    # `@<group>` (its hook runs before this one); where it could not (pytest 9.2, see
    # pyproject.toml), the groups would be ignored and each worker build the shared fixtures.
    if getattr(config.option, "loadgroup", False):
        lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
        if lost:
            raise pytest.UsageError(f"--dist loadgroup lost its groups (pytest-xdist issue 1386): {lost[0]}")
    toolchain = {Path(name).name for name in load_script("other_pythons").TOOLCHAIN_TESTS}
    # stable: else as collected
    items.sort(key=lambda item: (item.path.name not in toolchain, item.path.name not in SLOW_FIRST))


# Behaviour tests of several seconds each (their waits: a fake's whole-second rate windows,
# a transcript of commands, 50 runs of a race), started next, after the toolchain's: one of
# them dealt last to a worker would be the run's tail (the 3.11 run's slowest 80, 2026-12).
SLOW_FIRST = frozenset(
    {
        "test_readme_setup.py",  # 25 s: the docs' transcript twice, against one fake command
        "test_sync_token_cache.py",  # 50 runs of a race beside a CPU hog
        "test_rate_limit.py",  # the fake's whole-second windows, 3-6 s a test
        "test_token_queue.py",
        "test_cli.py",
        "test_cli_terminal.py",
        "test_readme.py",
        "test_redis_room.py",
    }
)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Tests sharing a module- (class-, package-) scoped fixture of ours run on one worker, so
    that fixture (a regenerated project, a built sdist) is built once, not once per worker;
    `--dist loadgroup` sends every other test wherever a worker is free. The group is the unit
    such a fixture lives in: the test's module (for a module- or class-scoped one), or the
    package (for a package-scoped one); xdist appends it to the test id: `...@<group>`.
    Not the set of fixtures a test uses: tests of one module that use `project` alone and
    `project` with `checked` would be two groups, and each worker given one would build
    `project` again (it did: three builds of tests/project/test_new_operation.py's copy).
    Session-scoped fixtures and plugins' fixtures are left out: each worker has its own
    session anyway."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return
    scopes = {
        definitions[-1].scope: definitions[-1].baseid
        for name in info.names_closure
        if (definitions := info.name2fixturedefs.get(name))
        and definitions[-1].scope in _SHARED_SCOPES
        and definitions[-1].baseid  # "" for a plugin's fixture
    }
    if "package" in scopes:
        item.add_marker(pytest.mark.xdist_group(name=scopes["package"]))
    elif scopes:
        item.add_marker(pytest.mark.xdist_group(name=item.nodeid.split("::", 1)[0]))
