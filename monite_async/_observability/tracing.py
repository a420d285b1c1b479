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
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx2

from .._version import __version__

__all__ = ["Tracing"]

_SCOPE = "monite_async"
# The semantic conventions' advice for http.client.request.duration, in seconds.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

# The attributes the duration histogram is recorded with (besides status and error type).
_MEASURED = ("http.request.method", "server.address", "server.port", "url.template")

# The operation span a resource method opened, so the pipeline run under it adds to that
# span (a bad domain refused before any request still gets one) instead of a second one.
_ACTIVE: contextvars.ContextVar[OperationRecord | None] = contextvars.ContextVar(
    "monite_async_operation", default=None
)


class OperationRecord:
    """What the pipeline tells the operation span: attempts, request id, failure."""

    __slots__ = ("name", "span")

    name: str
    span: Any  # an OpenTelemetry span (opentelemetry-api is optional), or None

    def __init__(self, name: str, span: Any) -> None:
        self.name = name
        self.span = span

    def answered(self, *, attempts: int, request_id: str | None) -> None:
        if self.span is None:
            return
        self.span.set_attribute("monite.attempts", attempts)
        if request_id is not None:
            self.span.set_attribute("monite.request_id", request_id)

    def waiting(self, delay: float, reason: str) -> None:
        if self.span is not None:
            self.span.add_event("monite.retry_wait", {"monite.delay": delay, "monite.reason": reason})


class AttemptRecord:
    """What the send gate tells the attempt span: the answer's status."""

    __slots__ = ("span", "status")

    def __init__(self, span: Any) -> None:
        self.span = span
        self.status: int | None = None

    def answered(self, response: httpx2.Response) -> None:
        self.status = response.status_code


_NO_OPERATION = OperationRecord("", None)
_NO_OPERATION_CONTEXT = contextlib.nullcontext(_NO_OPERATION)


class Tracing:
    """One client's instruments; see the module docstring."""

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError:
            self._trace: Any = None
            return
        self._trace = trace
        self._metrics: Any = metrics
        # Where the API keeps its global providers. Read directly, a "none configured" check
        # is a dict lookup; the public getters also look the environment up on every call,
        # which would be most of what tracing costs an app that has no SDK. Only when the
        # API keeps them where expected (checked once here); else the public getters.
        from opentelemetry.metrics import _internal as metrics_internal

        self._tracer_globals: Any = trace if hasattr(trace, "_TRACER_PROVIDER") else None
        self._meter_globals: Any = metrics_internal if hasattr(metrics_internal, "_METER_PROVIDER") else None
        self._tracer_from_env = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
        self._meter_from_env = "OTEL_PYTHON_METER_PROVIDER" in os.environ
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._tracers: dict[int, Any] = {}
        self._instruments: dict[int, tuple[Any, Any, Any]] = {}

    def __repr__(self) -> str:
        return f"Tracing(available={self._trace is not None})"

    # -- which provider, if any -----------------------------------------------------------

    def _tracer(self) -> Any:
        if self._trace is None:
            return None
        provider = self._tracer_provider
        if provider is None:
            globals_ = self._tracer_globals
            if globals_ is not None and globals_._TRACER_PROVIDER is None and not self._tracer_from_env:
                return None  # no SDK configured (yet): the API's no-op, at the cost of a lookup
            provider = self._trace.get_tracer_provider()
        if isinstance(provider, self._trace.ProxyTracerProvider):
            return None  # no SDK configured: the API's no-op, without building anything
        tracer = self._tracers.get(id(provider))
        if tracer is None:
            tracer = self._tracers[id(provider)] = provider.get_tracer(_SCOPE, __version__)
        return tracer

    def _meters(self) -> tuple[Any, Any, Any] | None:
        if self._trace is None:
            return None
        provider = self._meter_provider
        if provider is None:
            globals_ = self._meter_globals
            if globals_ is not None and globals_._METER_PROVIDER is None and not self._meter_from_env:
                return None
            provider = self._metrics.get_meter_provider()
        if type(provider).__name__ in ("_ProxyMeterProvider", "NoOpMeterProvider"):
            return None
        found = self._instruments.get(id(provider))
        if found is None:
            meter = provider.get_meter(_SCOPE, __version__)
            found = self._instruments[id(provider)] = (
                meter.create_histogram(
                    "http.client.request.duration",
                    unit="s",
                    description="Duration of HTTP client requests (one per attempt).",
                    explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
                ),
                meter.create_counter("monite.client.retries", unit="{retry}", description="Retries sent."),
                meter.create_counter(
                    "monite.client.token_fetches", unit="{fetch}", description="Access tokens fetched."
                ),
            )
        return found

    def enabled(self) -> bool:
        """Whether anything records spans or metrics now (an SDK configured, or providers given)."""
        return self._tracer() is not None or self._meters() is not None

    # -- the hooks the layers call ---------------------------------------------------------

    def operation(self, name: str, *, api_version: str) -> AbstractContextManager[OperationRecord]:
        """The operation span for `name`, or the one already open for it in this context."""
        active = _ACTIVE.get()
        if active is not None and active.name == name:
            return contextlib.nullcontext(active)
        tracer = self._tracer()
        if tracer is None:
            return _NO_OPERATION_CONTEXT  # the common case: built once, nothing per call
        return self._operation_span(tracer, name, api_version)

    @contextlib.contextmanager
    def _operation_span(self, tracer: Any, name: str, api_version: str) -> Iterator[OperationRecord]:
        attributes = {"monite.operation": name, "monite.api_version": api_version}
        kind = self._trace.SpanKind.INTERNAL
        with tracer.start_as_current_span(
            f"monite.{name}",
            kind=kind,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            record = OperationRecord(name, span)
            token = _ACTIVE.set(record)
            try:
                yield record
            except BaseException as exc:
                self._fail(span, exc)
                raise
            finally:
                _ACTIVE.reset(token)

    def current_operation(self) -> OperationRecord:
        return _ACTIVE.get() or _NO_OPERATION

    @contextlib.contextmanager
    def attempt(self, request: httpx2.Request, *, template: str, resends: int) -> Iterator[AttemptRecord]:
        """One HTTP attempt: a CLIENT span and a duration measurement."""
        tracer = self._tracer()
        meters = self._meters()
        if tracer is None and meters is None:
            yield AttemptRecord(None)
            return
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
        span_context = (
            tracer.start_as_current_span(
                f"{request.method} {template}",
                kind=self._trace.SpanKind.CLIENT,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            )
            if tracer is not None
            else contextlib.nullcontext(None)
        )
        error_type: str | None = None
        record = AttemptRecord(None)
        with span_context as span:
            record.span = span
            try:
                yield record
            except BaseException as exc:
                error_type = type(exc).__name__
                raise
            finally:
                error_type = self._end_attempt(record, error_type)
                if meters is not None:
                    measured = {k: attributes[k] for k in _MEASURED}
                    if record.status is not None:
                        measured["http.response.status_code"] = record.status
                    if error_type is not None:
                        measured["error.type"] = error_type
                    meters[0].record(time.perf_counter() - started, measured)

    def _end_attempt(self, record: AttemptRecord, error_type: str | None) -> str | None:
        if record.status is not None and record.status >= 400:
            error_type = str(record.status)
        span = record.span
        if span is None:
            return error_type
        if record.status is not None:
            span.set_attribute("http.response.status_code", record.status)
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error_type))
        return error_type

    def waiting(self, *, operation: str, delay: float, reason: str) -> None:
        """A wait before a retry: an event on the operation span, one on the retries counter."""
        self.current_operation().waiting(delay, reason)
        meters = self._meters()
        if meters is not None:
            meters[1].add(1, {"monite.operation": operation, "monite.retry.reason": reason})

    def token_fetched(self, reason: str) -> None:
        meters = self._meters()
        if meters is not None:
            meters[2].add(1, {"monite.token.reason": reason})

    def _fail(self, span: Any, exc: BaseException) -> None:
        # The facade's own errors carry redacted messages; anything else only its type.
        message = getattr(exc, "message", None)
        description = message if isinstance(message, str) else type(exc).__name__
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, description[:200]))
