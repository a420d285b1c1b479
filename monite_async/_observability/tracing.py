"""OpenTelemetry traces and metrics, through `opentelemetry-api` alone (the `otel` extra).

Without the package nothing is imported and every hook here is a no-op. With it and no
SDK configured by the app, calls take the no-op path too (checked per call: an app may
configure its SDK after building the client). With an SDK, each call makes

- one INTERNAL span `monite.<operationId>` (`monite.operation`, `monite.api_version`,
  `monite.attempts`, `monite.request_id`), with an event for each wait before a retry;
- under it one CLIENT span per HTTP attempt, as OpenTelemetry's HTTP client semantic
  conventions name it (`GET /mailbox_domains`: `http.request.method`, `server.address`,
  `server.port`, `url.full`, `url.template`, `http.response.status_code`,
  `http.request.resend_count`, `error.type`); a token fetch is its own
  `monite.post_auth_token` span with its own attempt, inside the call that needed it;
- the `http.client.request.duration` histogram per attempt, and the counters
  `monite.client.retries` and `monite.client.token_fetches`.

No token, secret or credential is ever an attribute: URLs carry none, and error
descriptions are the facade's own redacted messages.

    MoniteClient(tracer_provider=provider, meter_provider=meters)  # else the global ones
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterator
from operator import methodcaller
from typing import Any

import httpx2

from .._version import __version__

__all__ = ["Tracing"]

_SCOPE = "monite_async"
# The semantic conventions' advice for http.client.request.duration, in seconds.
_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]

# The attributes the duration histogram is recorded with (besides status and error type).
_MEASURED = ("http.request.method", "server.address", "server.port", "url.template")

# The providers the API hands out while no SDK is configured: they record nothing.
_NO_SDK = frozenset({"ProxyTracerProvider", "_ProxyMeterProvider", "NoOpMeterProvider"})

# The operation span a resource method opened, so the pipeline run under it adds to that
# span (a bad domain refused before any request still gets one) instead of a second one.
_ACTIVE: contextvars.ContextVar[Record | None] = contextvars.ContextVar(
    "monite_async_operation", default=None
)


@dataclasses.dataclass(slots=True)
class Record:
    """What the pipeline tells a span: the operation span its attempts and request id
    (`answered`), an attempt span its answer's status."""

    name: str  # the operation's ("" for an attempt)
    span: Any  # an OpenTelemetry span (opentelemetry-api is optional), or None
    status: int | None = None

    def answered(self, *, attempts: int, request_id: str | None) -> None:
        self.span.set_attribute("monite.attempts", attempts)
        if request_id is not None:
            self.span.set_attribute("monite.request_id", request_id)


_NO_OPERATION_CONTEXT = contextlib.nullcontext(Record("", None))


def _source(given: Any, api: Any, kind: str, make: Callable[[Any], Any]) -> Callable[[], Any]:
    """What records `kind` ("tracer" or "meter") now, made once per provider: from the provider
    `given`, else from the API's global one; None while no SDK is configured. Asked on each
    call: an app may configure its SDK after building the client."""
    get = getattr(api, f"get_{kind}_provider")  # the API's public getter of its global provider
    attribute = f"_{kind.upper()}_PROVIDER"  # where the API keeps that provider
    # Read directly, "none configured" is a dict lookup; the public getter also looks the
    # environment up on every call, which would be most of what tracing costs an app that has
    # no SDK. With a provider given, or where the API keeps it elsewhere, or the variable names
    # one to load: a stand-in that never says None.
    kept = vars(api)
    if given is not None or attribute not in kept or f"OTEL_PYTHON{attribute}" in os.environ:
        kept = {attribute: True}
    made = functools.cache(make)  # once per provider

    def now() -> Any:
        if kept[attribute] is None:
            return None  # no SDK configured (yet): the API's no-op, at the cost of a lookup
        provider = given if given is not None else get()
        if type(provider).__name__ in _NO_SDK:
            return None  # no SDK configured: the API's no-op, without building anything
        return made(provider)

    return now


def _make_meters(provider: Any) -> tuple[Any, Any, Any]:
    meter = provider.get_meter(_SCOPE, __version__)
    return (
        meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests (one per attempt).",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        ),
        meter.create_counter("monite.client.retries", unit="{retry}", description="Retries sent."),
        meter.create_counter(
            "monite.client.token_fetches", unit="{fetch}", description="Access tokens fetched."
        ),
    )


def _span(tracer: Any, name: str, kind: Any, attributes: dict[str, Any]) -> Any:
    """`name` as the current span (None without a tracer). A failure's status is set by the
    caller, from the facade's redacted text: never the SDK's own, from the exception."""
    if tracer is None:
        return contextlib.nullcontext()
    return tracer.start_as_current_span(
        name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
    )


class Tracing:
    """One client's instruments; see the module docstring."""

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        # Without opentelemetry-api: every hook a no-op (and no span is made to need `_trace`).
        self._tracer: Callable[[], Any] = lambda: None
        self._meters: Callable[[], tuple[Any, Any, Any] | None] = lambda: None
        try:
            from opentelemetry import trace
            from opentelemetry.metrics import _internal as metrics
        except ImportError:
            return
        self._trace: Any = trace
        self._tracer = _source(
            tracer_provider, trace, "tracer", methodcaller("get_tracer", _SCOPE, __version__)
        )
        self._meters = _source(meter_provider, metrics, "meter", _make_meters)

    def metered(self) -> bool:
        """Whether anything records metrics now (an SDK configured, or a meter provider given)."""
        return self._meters() is not None

    # -- the hooks the layers call ---------------------------------------------------------

    def operation(self, name: str, *, api_version: str) -> contextlib.AbstractContextManager[Record]:
        """The operation span for `name`, or the one already open for it in this context."""
        active = _ACTIVE.get()
        if active is not None and active.name == name:
            return contextlib.nullcontext(active)
        tracer = self._tracer()
        if tracer is None:
            return _NO_OPERATION_CONTEXT  # the common case: built once, nothing per call
        return self._operation_span(tracer, name, api_version)

    @contextlib.contextmanager
    def _operation_span(self, tracer: Any, name: str, api_version: str) -> Iterator[Record]:
        attributes = {"monite.operation": name, "monite.api_version": api_version}
        with _span(tracer, f"monite.{name}", self._trace.SpanKind.INTERNAL, attributes) as span:
            record = Record(name, span)
            token = _ACTIVE.set(record)
            try:
                yield record
            except BaseException as exc:
                # The facade's own errors carry redacted messages; anything else only its type.
                message = getattr(exc, "message", None)
                description = message if isinstance(message, str) else type(exc).__name__
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, description[:200]))
                raise
            finally:
                _ACTIVE.reset(token)

    @contextlib.contextmanager
    def attempt(self, request: httpx2.Request, *, template: str, resends: int) -> Iterator[Record]:
        """One HTTP attempt: a CLIENT span and a duration measurement."""
        tracer = self._tracer()
        url = request.url
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
            "url.full": str(url.copy_with(query=None)),
            "url.template": template,
        }
        if resends:
            attributes["http.request.resend_count"] = resends
        started = time.perf_counter()
        record = Record("", None)
        error_type: str | None = None
        with _span(tracer, f"{request.method} {template}", self._trace.SpanKind.CLIENT, attributes) as span:
            try:
                yield record
            except BaseException as exc:
                error_type = type(exc).__name__
                raise
            finally:
                if record.status is not None and record.status >= 400:
                    error_type = str(record.status)
                said = {"http.response.status_code": record.status, "error.type": error_type}
                said = {key: value for key, value in said.items() if value is not None}
                if span is not None:
                    span.set_attributes(said)
                    if error_type is not None:
                        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error_type))
                meters = self._meters()
                if meters is not None:
                    measured = {key: attributes[key] for key in _MEASURED}
                    meters[0].record(time.perf_counter() - started, measured | said)

    def waiting(self, *, operation: str, delay: float, reason: str) -> None:
        """A wait before a retry: an event on the operation span, one on the retries counter."""
        active = _ACTIVE.get()
        if active is not None:
            active.span.add_event("monite.retry_wait", {"monite.delay": delay, "monite.reason": reason})
        meters = self._meters()
        if meters is not None:
            meters[1].add(1, {"monite.operation": operation, "monite.retry.reason": reason})

    def token_fetched(self, reason: str) -> None:
        meters = self._meters()
        if meters is not None:
            meters[2].add(1, {"monite.token.reason": reason})
