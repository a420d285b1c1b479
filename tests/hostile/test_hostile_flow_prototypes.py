"""The prototypes for issue 29's classes 5 and 6 (monite_async/_transports.py), passed in as
a `transport=` through the public API, against the very cases that stay xfail in
test_hostile_classes.py until the request flow wires them in."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from monite_async._transports import (
    SyncTrailingBytesGuard,
    TrailingBytesGuard,
    read_deadline,
    with_read_deadline,
)

from .harness import VARIANTS, exercise
from .raw_server import Answer, RawServer
from .test_hostile_classes import JSON, _trickle, head, ok


def _guarded(variant: str) -> dict[str, Any]:
    if variant == "sync":
        return {"transport": SyncTrailingBytesGuard(httpx2.HTTPTransport())}
    return {"transport": TrailingBytesGuard(httpx2.AsyncHTTPTransport())}


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "aiohttp"])
@pytest.mark.parametrize("first", [204, 200])
def test_class5_a_connection_with_bytes_past_the_answer_is_not_reused(
    raw_server: RawServer, variant: str, first: int
) -> None:
    body = b"" if first == 204 else b'{"data": []}'
    extra = head(200, JSON, ("x-request-id", "smuggled"), body=b'{"data": []}')
    answer = head(first, JSON, ("x-request-id", "hostile"), body=body) + extra
    raw_server.script("GET", "/mailbox_domains", Answer([answer]))
    ok(exercise(variant, raw_server, options=_guarded(variant)))


@contextlib.contextmanager
def _within(deadline: float) -> Iterator[None]:
    with read_deadline(time.monotonic() + deadline):
        yield


@pytest.mark.parametrize(
    ("route", "data"),
    [
        ("mailbox", head(200, JSON, ("x-request-id", "slow"), body=b'{"data": []}' + b" " * 40)),
        ("mailbox", b"HTTP/1.1 100 Continue\r\n\r\n"),
        ("token", b"HTTP/1.1 100 Continue\r\n\r\n"),
    ],
    ids=["byte-by-byte", "continue-flood", "continue-flood-token"],
)
def test_class6_the_blocking_client_keeps_its_deadline_against_a_trickle(
    raw_server: RawServer, route: str, data: bytes
) -> None:
    if route == "token":
        raw_server.script("POST", "/auth/token", _trickle(data))
    else:
        raw_server.script("GET", "/mailbox_domains", _trickle(data))
    transport = with_read_deadline(httpx2.HTTPTransport())
    report = exercise("sync", raw_server, options={"transport": transport}, around=_within)
    ok(report)
    assert type(report.error).__name__ == "MoniteTimeoutError", report
