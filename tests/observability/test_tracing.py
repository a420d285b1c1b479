"""OpenTelemetry: one operation span per call, one CLIENT span per attempt, waits as events,
token fetches as their own spans, the duration histogram and two counters; no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from loopback_server import CLIENT_SECRET, LoopbackServer, error

from monite_async import InvalidRequestError, RetryPolicy

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

pytestmark = [
    pytest.mark.event_loops("asyncio", "trio"),  # both loops (tests/event_loops.py)
    pytest.mark.sync_client,  # and the blocking client ("sync", tests/event_loops.py)
]


async def no_wait(seconds: float) -> None:
    return None


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = sdk_trace.TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self) -> list[Any]:
        return sorted(self.exporter.get_finished_spans(), key=lambda span: span.start_time)

    def named(self, name: str) -> list[Any]:
        return [span for span in self.spans() if span.name == name]

    def metrics(self) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    found = Telemetry()
    yield found
    found.tracer_provider.shutdown()


def client(loopback: LoopbackServer, telemetry: Telemetry, **options: Any) -> Any:
    return loopback.client(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        retry_policy=RetryPolicy(sleep=no_wait),
        **options,
    )


async def test_a_list_with_one_500_is_one_operation_span_with_two_attempts_and_a_wait(
    loopback: LoopbackServer, telemetry: Telemetry
) -> None:
    async with client(loopback, telemetry) as monite:
        await monite.mailbox_domains.list()  # the token first
        telemetry.exporter.clear()
        loopback.script("GET", "/mailbox_domains", error(500, "boom"))
        await monite.mailbox_domains.list()
    (operation,) = telemetry.named("monite.get_mailbox_domains")
    assert operation.kind == SpanKind.INTERNAL
    assert operation.attributes["monite.operation"] == "get_mailbox_domains"
    assert operation.attributes["monite.api_version"] == monite.api_version
    assert operation.attributes["monite.attempts"] == 2
    assert str(operation.attributes["monite.request_id"]).startswith("req-")
    (wait,) = operation.events
    assert wait.name == "monite.retry_wait"
    assert wait.attributes["monite.reason"] == "HTTP 500"
    assert wait.attributes["monite.delay"] > 0
    first, second = telemetry.named("GET /mailbox_domains")
    for attempt in (first, second):
        assert attempt.kind == SpanKind.CLIENT
        assert attempt.parent.span_id == operation.context.span_id
        assert attempt.attributes["http.request.method"] == "GET"
        assert attempt.attributes["server.address"] == "127.0.0.1"
        assert attempt.attributes["server.port"] == loopback.port
        assert attempt.attributes["url.full"] == f"{loopback.base_url}/mailbox_domains"
        assert attempt.attributes["url.template"] == "/mailbox_domains"
    assert first.attributes["http.response.status_code"] == 500
    assert first.attributes["error.type"] == "500"
    assert first.status.status_code == StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.response.status_code"] == 200
    assert second.attributes["http.request.resend_count"] == 1
    assert second.status.status_code == StatusCode.UNSET
    metrics = telemetry.metrics()
    durations = metrics["http.client.request.duration"]
    assert sum(point.count for point in durations) == 4  # token fetch, warm-up list, 500, 200
    assert sum(point.value for point in metrics["monite.client.retries"]) == 1
    assert sum(point.value for point in metrics["monite.client.token_fetches"]) == 1


async def test_a_refused_token_shows_the_refresh_and_the_replay(
    loopback: LoopbackServer, telemetry: Telemetry
) -> None:
    async with client(loopback, telemetry) as monite:
        await monite.mailbox_domains.list()
        telemetry.exporter.clear()
        loopback.revoke_all_tokens()
        await monite.mailbox_domains.list()
    (operation,) = telemetry.named("monite.get_mailbox_domains")
    (fetch,) = telemetry.named("monite.post_auth_token")
    assert fetch.parent.span_id == operation.context.span_id  # inside the call that needed it
    (token_attempt,) = telemetry.named("POST /auth/token")
    assert token_attempt.parent.span_id == fetch.context.span_id
    refused, replay = telemetry.named("GET /mailbox_domains")
    assert refused.attributes["http.response.status_code"] == 401
    assert replay.attributes["http.response.status_code"] == 200
    assert replay.attributes["http.request.resend_count"] == 1
    reasons = {
        point.attributes["monite.token.reason"]
        for point in telemetry.metrics()["monite.client.token_fetches"]
    }
    assert reasons == {"no token yet", "Monite refused the token"}


async def test_a_bad_domain_is_an_operation_span_with_error_status_and_no_attempt(
    loopback: LoopbackServer, telemetry: Telemetry
) -> None:
    async with client(loopback, telemetry) as monite:
        with pytest.raises(InvalidRequestError):
            await monite.mailbox_domains.create("localhost")
    (operation,) = telemetry.named("monite.post_mailbox_domains")
    assert operation.status.status_code == StatusCode.ERROR
    assert operation.attributes["error.type"] == "InvalidRequestError"
    assert "single label" in operation.status.description
    assert [span.name for span in telemetry.spans()] == ["monite.post_mailbox_domains"]


async def test_no_secret_in_any_span_event_or_metric(loopback: LoopbackServer, telemetry: Telemetry) -> None:
    async with client(loopback, telemetry) as monite:
        await monite.mailbox_domains.create("mail.example.com")
        loopback.revoke_all_tokens()
        await monite.mailbox_domains.list()
        tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in loopback.recorded("GET")]
    said = json.dumps(
        [
            {
                "name": span.name,
                "attributes": dict(span.attributes),
                "events": [(e.name, dict(e.attributes)) for e in span.events],
                "status": span.status.description,
            }
            for span in telemetry.spans()
        ]
    ) + repr(telemetry.reader.get_metrics_data())
    for secret in (CLIENT_SECRET, *tokens, "Bearer"):
        assert secret not in said


def test_without_opentelemetry_nothing_is_imported_and_calls_work() -> None:
    program = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"  # as if it were not installed
        "import monite_async\n"
        "from monite_async.testing import FakeMonite\n"
        "import anyio\n"
        "async def main():\n"
        "    fake = FakeMonite()\n"
        "    async with monite_async.MoniteClient(client_id=fake.client_id,\n"
        "            client_secret=fake.client_secret, base_url=fake.base_url,\n"
        "            transport=fake.transport()) as monite:\n"
        "        print(len(await monite.mailbox_domains.list()))\n"
        "anyio.run(main)\n"
        "print([m for m in sys.modules if m.startswith('opentelemetry') and sys.modules[m] is not None])\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "[]"]


def test_import_does_not_import_opentelemetry() -> None:
    program = "import sys, monite_async; print(any(m.startswith('opentelemetry') for m in sys.modules))"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "False", result.stderr


# -- MONITE_LOG --------------------------------------------------------------------------

LOG_PROGRAM = """
import logging, sys
{configure}
import anyio, monite_async
from monite_async.testing import FakeMonite
async def main():
    fake = FakeMonite()
    async with monite_async.MoniteClient(client_id=fake.client_id, client_secret=fake.client_secret,
            base_url=fake.base_url, transport=fake.transport()) as monite:
        await monite.mailbox_domains.list()
anyio.run(main)
"""


def run_logged(level: str | None, configure: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MONITE_LOG"}
    if level is not None:
        env["MONITE_LOG"] = level
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", LOG_PROGRAM.format(configure=configure)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("level", "token_line", "request_line"),
    [(None, False, False), ("warning", False, False), ("info", True, False), ("debug", True, True)],
)
def test_monite_log_shows_what_its_level_says_on_stderr(
    level: str | None, token_line: bool, request_line: bool
) -> None:
    result = run_logged(level)
    assert result.returncode == 0, result.stderr
    assert ("Fetched a Monite access token" in result.stderr) is token_line
    assert ("GET /v1/mailbox_domains -> HTTP 200" in result.stderr) is request_line
    assert "fake-monite-secret" not in result.stderr


def test_an_apps_own_logging_config_wins_over_monite_log() -> None:
    configure = "logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='APP %(message)s')"
    result = run_logged("debug", configure)
    assert result.returncode == 0, result.stderr
    assert "Fetched a Monite access token" not in result.stderr  # nothing of ours on stderr
    assert "APP Fetched a Monite access token" in result.stdout  # the app's handler has it


def test_an_unknown_monite_log_value_is_ignored_with_a_warning() -> None:
    result = run_logged("loud")
    assert result.returncode == 0
    assert "MONITE_LOG='loud' is not one of debug, info, warning" in result.stderr
