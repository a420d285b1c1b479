"""The socket suites on both event loops: asyncio run by pytest-asyncio, trio by anyio's plugin.

A module (or test) marked `@pytest.mark.event_loops("asyncio", "trio")` runs each of its
async tests once per loop named; the test ids say which (`[asyncio-httpx2]`, `[trio-httpx2]`).
A test that is inherently about asyncio narrows it with its own `event_loops("asyncio")`.
Sync tests and unmarked modules are untouched: pytest-asyncio runs their async tests.

How the two plugins are kept apart (both are installed; neither is told about the other):

- pytest-asyncio (`asyncio_mode = "auto"`) claims every async test at collection: it
  replaces the item by its own `Coroutine` item carrying an `asyncio` marker. That is left
  as is for the asyncio half.
- For the trio half, `pytest_collection_modifyitems` swaps that item back for a plain
  `pytest.Function` without the `asyncio` marker (so pytest-asyncio neither wraps nor warns
  about it) that requests `anyio_backend` (this module's fixture: "trio"). anyio's
  `pytest_pyfunc_call` runs any coroutine test that has that fixture, on its trio runner.
- Async fixtures would be claimed by both plugins (pytest-asyncio's auto mode would run them
  on an asyncio loop even for a trio test), so a trio test may only use sync fixtures:
  collection fails, saying so, if one does not. The `loopback` server runs in its own thread
  and the fake Monite's fixtures are sync, so none is needed.

The transports: a test that uses `loopback` (through `transport_name`) runs on httpx2's
transport and on the aiohttp backend, except under trio, where aiohttp cannot run (that is
tested once, as a ConfigurationError, in tests/client/test_misconfiguration.py).

The blocking client: in a module (or test) marked `@pytest.mark.sync_client`, a third kind,
"sync", runs the same test body against a real `MoniteSyncClient`, each blocking call in a
worker thread (tests/sync_adapter.py; the ids say `[asyncio-sync]`). It runs on asyncio
only: the blocking client has no event loop to care about, and the test's own loop only
waits for the threads. A test there that is about what only the async client has (task
cancellation, an async token callable, event-loop binding) narrows it with
`@pytest.mark.async_only("why")`.

`--event-loops=asyncio` (scripts/other_pythons.py passes it for the reruns on 3.12 and 3.13,
to keep `make test` short) deselects the trio half; the summary says so. `--transports`
does the same for kinds of client: the reruns pass `--transports=httpx2` (why: the
docstring of scripts/other_pythons.py).

Under pytest-xdist the workers run the tests and the controller prints the summary: each
worker sends its counts (`workeroutput`) and the controller adds them up before the checks
below, so a lost trio half fails a parallel run as it fails a serial one.

That the trio half really runs: each trio test's body is wrapped in a probe that records
the run only if it executes under trio (sniffio says "trio" and a trio token exists).
`pytest_sessionfinish` fails the session when a selected trio test ran its body without the
probe seeing trio, or when one of the socket suites ran asyncio tests but had no trio test
collected at all (its trio half was lost, not deselected by -k, -m or --event-loops); the
terminal summary prints the count per module.
"""

from __future__ import annotations

import collections
import functools
import inspect
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import pytest
import sniffio
from _pytest.fixtures import FuncFixtureInfo

LOOPS = ("asyncio", "trio")
TRANSPORTS = ("httpx2", "aiohttp", "sync")
ASYNCIO_ONLY_TRANSPORTS = frozenset({"aiohttp", "sync"})
SYNC = "sync"  # the blocking client (MoniteSyncClient), driven from worker threads
MARKER = "event_loops"
SYNC_CLIENT = "sync_client"
ASYNC_ONLY = "async_only"

# The suites issue 13 names: each must run on trio whenever it runs at all.
SOCKET_SUITES = frozenset(
    {
        "test_auth_loopback.py",
        "test_retry_loopback.py",
        "test_errors_loopback.py",
        "test_client_loopback.py",
        "test_per_call_options.py",
        "test_rate_limit.py",
        "test_token_queue.py",
        "test_tracing.py",
        "test_misconfiguration.py",
        "test_cancellation_loopback.py",
    }
)


class _TrioRuns:
    def __init__(self) -> None:
        self.enabled: tuple[str, ...] = LOOPS  # --event-loops
        self.transports: tuple[str, ...] = TRANSPORTS  # --transports
        self.collected: collections.Counter[str] = collections.Counter()  # module -> trio items
        self.selected: set[str] = set()  # trio items selected to run
        self.called: set[str] = set()  # trio items whose call phase ran
        self.probed: collections.Counter[str] = collections.Counter()  # nodeid -> runs seen under trio
        self.asyncio_called: collections.Counter[str] = collections.Counter()  # module -> asyncio calls

    def to_wire(self) -> dict[str, Any]:
        """What an xdist worker sends the controller (plain types: execnet serializes them)."""
        return {
            "collected": dict(self.collected),
            "selected": sorted(self.selected),
            "called": sorted(self.called),
            "probed": dict(self.probed),
            "asyncio_called": dict(self.asyncio_called),
        }

    def merge(self, wire: dict[str, Any]) -> None:
        """Add one worker's counts. Every worker collects every test: `collected` is the same
        on each, so it is not added up; the rest is each worker's own share."""
        for module, count in wire["collected"].items():
            self.collected[module] = max(self.collected[module], count)
        self.selected.update(wire["selected"])
        self.called.update(wire["called"])
        self.probed.update(wire["probed"])
        self.asyncio_called.update(wire["asyncio_called"])


_runs = _TrioRuns()  # this session's (reset by pytest_configure)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--event-loops",
        default=",".join(LOOPS),
        help="comma-separated loops to run the event_loops-marked tests on (default: asyncio,trio); "
        "the others' items are deselected",
    )
    parser.addoption(
        "--transports",
        default=",".join(TRANSPORTS),
        help="comma-separated kinds of client to run the `loopback` tests on (default: "
        "httpx2,aiohttp,sync); the others' items are deselected",
    )


def _names(config: pytest.Config, option: str, known: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(name.strip() for name in str(config.getoption(option)).split(",") if name.strip())
    if not names or set(names) - set(known):
        raise pytest.UsageError(f"{option} takes some of {','.join(known)}, got {names}")
    return names


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*names): run this async test once per event loop named ('asyncio', 'trio'); "
        "asyncio by pytest-asyncio, trio by anyio's pytest plugin (tests/event_loops.py)",
    )
    config.addinivalue_line(
        "markers",
        f"{SYNC_CLIENT}: the socket tests here (those using `loopback`) run on the blocking client "
        "too, as the 'sync' kind (tests/event_loops.py)",
    )
    config.addinivalue_line(
        "markers",
        f"{ASYNC_ONLY}(reason): this socket test is about the async client alone; it does not "
        "run on the blocking client (the 'sync' kind, tests/event_loops.py)",
    )
    global _runs
    _runs = _TrioRuns()
    _runs.enabled = _names(config, "--event-loops", LOOPS)
    _runs.transports = _names(config, "--transports", TRANSPORTS)


@pytest.fixture
def event_loop_name(request: pytest.FixtureRequest) -> str:
    """The event loop this test runs on: "asyncio" or "trio"."""
    return str(getattr(request, "param", "asyncio"))


@pytest.fixture
def transport_name(request: pytest.FixtureRequest) -> str:
    """The client `loopback.client()` builds: MoniteClient on "httpx2" or "aiohttp", or the
    blocking MoniteSyncClient ("sync", behind tests/sync_adapter.py's async face)."""
    return str(request.param)


@pytest.fixture
def anyio_backend() -> str:
    """Requested by the trio half only (see the module docstring): anyio's runner for it."""
    return "trio"


def _loops_of(definition: pytest.Function) -> tuple[str, ...]:
    if not inspect.iscoroutinefunction(definition.obj):
        return ()
    marker = definition.get_closest_marker(MARKER)
    if marker is None:
        return ()
    unknown = set(marker.args) - set(LOOPS)
    if unknown or not marker.args:
        raise pytest.UsageError(f"{definition.nodeid}: {MARKER}() takes some of {LOOPS}, got {marker.args}")
    return tuple(marker.args)


def _runs_on(loop: str, transport: str) -> bool:
    return loop != "trio" or transport not in ASYNCIO_ONLY_TRANSPORTS


def _transports_of(definition: pytest.Function) -> tuple[str, ...]:
    """The kinds of client a `loopback` test runs on: the async ones, and the blocking one
    where its module opts in (`sync_client`) and the test does not opt out (`async_only`)."""
    marker = definition.get_closest_marker(ASYNC_ONLY)
    if marker is not None and (len(marker.args) != 1 or not str(marker.args[0]).strip()):
        raise pytest.UsageError(f"{definition.nodeid}: {ASYNC_ONLY}() takes the reason, as one string")
    if definition.get_closest_marker(SYNC_CLIENT) is None or marker is not None:
        return tuple(t for t in TRANSPORTS if t != SYNC)
    return TRANSPORTS


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    loops = _loops_of(metafunc.definition)
    transports = "transport_name" in metafunc.fixturenames
    if loops and "event_loop_name" not in metafunc.fixturenames:
        metafunc.fixturenames.append("event_loop_name")
    kinds = _transports_of(metafunc.definition)
    if loops and transports:
        combos = [(loop, t) for loop in loops for t in kinds if _runs_on(loop, t)]
        ids = [f"{loop}-{t}" for loop, t in combos]
        metafunc.parametrize(("event_loop_name", "transport_name"), combos, indirect=True, ids=ids)
    elif loops:
        metafunc.parametrize("event_loop_name", loops, indirect=True)
    elif transports:
        metafunc.parametrize("transport_name", kinds, indirect=True)


def _is_async(func: object) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)


def _as_trio_item(item: pytest.Function) -> pytest.Function:
    """`item` (claimed by pytest-asyncio) as a plain Function that anyio's plugin runs on trio."""
    info = item._fixtureinfo
    for name in info.names_closure:
        definitions = info.name2fixturedefs.get(name)
        if definitions and _is_async(definitions[-1].func):
            raise pytest.UsageError(
                f"{item.nodeid}: the trio half may use sync fixtures only; {name!r} is async "
                "(pytest-asyncio's auto mode would run it on asyncio): see tests/event_loops.py"
            )
    backend = item.session._fixturemanager.getfixturedefs("anyio_backend", item)
    assert backend, "tests/event_loops.py's anyio_backend fixture is not visible"
    fixtureinfo = FuncFixtureInfo(
        argnames=info.argnames,
        initialnames=info.initialnames,
        names_closure=[*info.names_closure, "anyio_backend"],
        name2fixturedefs={**info.name2fixturedefs, "anyio_backend": backend},
    )
    assert item.parent is not None
    trio_item = pytest.Function.from_parent(
        item.parent,
        name=item.name,
        callspec=item.callspec,
        callobj=item.obj,
        fixtureinfo=fixtureinfo,
        keywords={k: v for k, v in item.keywords.items() if k != "asyncio"},
        originalname=item.originalname,
    )
    trio_item.own_markers = [m for m in item.own_markers if m.name != "asyncio"]
    assert trio_item.get_closest_marker("asyncio") is None, f"{item.nodeid}: an asyncio marker above the test"
    return trio_item


def _loop_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("event_loop_name")


def _transport_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("transport_name")


def _module(nodeid: str) -> str:
    return nodeid.split("::")[0].rsplit("/", 1)[-1]


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect: count every trio item collected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for index, item in enumerate(items):
        if isinstance(item, pytest.Function) and _loop_of(item) == "trio":
            items[index] = _as_trio_item(item)
            _runs.collected[_module(item.nodeid)] += 1
    off = [
        item
        for item in items
        if (_loop_of(item) or _runs.enabled[0]) not in _runs.enabled
        or (_transport_of(item) or _runs.transports[0]) not in _runs.transports
    ]
    if off:
        config.hook.pytest_deselected(items=off)
        items[:] = [item for item in items if item not in off]


def pytest_collection_finish(session: pytest.Session) -> None:
    _runs.selected = {item.nodeid for item in session.items if _loop_of(item) == "trio"}


Test = Callable[..., Coroutine[Any, Any, None]]


def _probe(nodeid: str, runs: collections.Counter[str], test: Test) -> Test:
    @functools.wraps(test)
    async def probed(**kwargs: Any) -> None:
        if sniffio.current_async_library() == "trio":
            import trio

            trio.lowlevel.current_trio_token()  # raises outside a trio run
            runs[nodeid] += 1
        await test(**kwargs)

    return probed


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, None, None]:
    state = _runs
    if _loop_of(pyfuncitem) != "trio":
        if _loop_of(pyfuncitem) == "asyncio":
            state.asyncio_called[pyfuncitem.path.name] += 1
        yield
        return
    original = pyfuncitem.obj
    pyfuncitem.obj = _probe(pyfuncitem.nodeid, state.probed, original)
    try:
        yield
    finally:
        pyfuncitem.obj = original


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.nodeid in _runs.selected:
        _runs.called.add(report.nodeid)


def _problems(state: _TrioRuns) -> list[str]:
    problems: list[str] = []
    unprobed = sorted(state.called - set(state.probed))
    if unprobed:
        problems.append(
            f"{len(unprobed)} trio test(s) ran without their body running under trio, e.g. {unprobed[0]}"
        )
    for module, asyncio_runs in sorted(state.asyncio_called.items()):
        if module in SOCKET_SUITES and asyncio_runs and not state.collected[module]:
            problems.append(f"{module}: {asyncio_runs} test(s) ran on asyncio, and it has no trio test")
    return problems


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workeroutput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: a worker finished; add its counts (see the module docstring)."""
    wire = getattr(node, "workeroutput", {}).get("event_loops")
    if wire is not None:
        _runs.merge(wire)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _is_xdist_worker(session.config):
        session.config.workeroutput["event_loops"] = _runs.to_wire()  # type: ignore[attr-defined]
        return  # the controller checks the sum of every worker's counts
    problems = _problems(_runs)
    if problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = _runs
    if not state.selected and not state.asyncio_called:
        return
    by_module = collections.Counter(_module(nodeid) for nodeid in state.probed)
    counts = ", ".join(f"{module} {n}" for module, n in sorted(by_module.items())) or "none"
    off = "" if "trio" in state.enabled else "; the trio half deselected by --event-loops"
    if state.transports != TRANSPORTS:
        off += f"; clients: {','.join(state.transports)} (--transports)"
    terminalreporter.write_line(
        f"event loops: {sum(state.asyncio_called.values())} socket-suite runs on asyncio, "
        f"{sum(state.probed.values())} on trio ({counts}){off}"
    )
    for problem in _problems(state):
        terminalreporter.write_line(f"event loops: FAILED: {problem}", red=True)
