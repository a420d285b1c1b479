"""An app still on httpx that passes its httpx objects to us: each kind (an async or blocking
client, a transport, a subclass of one, a Timeout, Limits) is a ConfigurationError naming what
was passed and what to pass instead, raised before anything is sent (httpx2 itself would fail
later, with an AssertionError or a TypeError from deep inside a send)."""

from __future__ import annotations

import re

import httpx
import httpx2
import pytest

from monite_async import ConfigurationError, MoniteClient, MoniteSyncClient
from monite_async._http.transports import refuse_foreign_http


class _Recorder:
    """An httpx2 transport handler that records every request it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request)
        return httpx2.Response(200, json={"data": []})


def _refusal(argument: str, passed: str, instead: str) -> str:
    return re.escape(
        f"{argument}= got {passed}, from httpx; monite_async runs on httpx2: pass {instead} instead"
    )


class _AppTransport(httpx.AsyncBaseTransport):
    """What an app on httpx writes: its own transport class."""


class _SyncAppTransport(httpx.BaseTransport):
    pass


ASYNC_CASES = [
    ("http_client", lambda: httpx.AsyncClient(), "an httpx.AsyncClient", "an httpx2.AsyncClient"),
    (
        "transport",
        lambda: httpx.AsyncHTTPTransport(),
        "an httpx.AsyncHTTPTransport",
        "an httpx2.AsyncHTTPTransport",
    ),
    (
        "transport",
        lambda: _AppTransport(),
        "_AppTransport (an httpx.AsyncBaseTransport)",
        "a subclass of httpx2.AsyncBaseTransport",
    ),
    ("timeout", lambda: httpx.Timeout(5.0), "an httpx.Timeout", "an httpx2.Timeout"),
    ("limits", lambda: httpx.Limits(max_connections=5), "an httpx.Limits", "an httpx2.Limits"),
]

SYNC_CASES = [
    ("http_client", lambda: httpx.Client(), "an httpx.Client", "an httpx2.Client"),
    ("transport", lambda: httpx.HTTPTransport(), "an httpx.HTTPTransport", "an httpx2.HTTPTransport"),
    (
        "transport",
        lambda: _SyncAppTransport(),
        "_SyncAppTransport (an httpx.BaseTransport)",
        "a subclass of httpx2.BaseTransport",
    ),
    ("timeout", lambda: httpx.Timeout(5.0), "an httpx.Timeout", "an httpx2.Timeout"),
    ("limits", lambda: httpx.Limits(max_connections=5), "an httpx.Limits", "an httpx2.Limits"),
]


@pytest.mark.parametrize(("argument", "make", "passed", "instead"), ASYNC_CASES)
def test_the_async_client_refuses_each_httpx_object_by_name(
    argument: str, make: object, passed: str, instead: str
) -> None:
    value = make()  # type: ignore[operator]
    with pytest.raises(ConfigurationError, match=_refusal(argument, passed, instead)):
        MoniteClient(token="t", base_url="http://127.0.0.1:9", **{argument: value})


@pytest.mark.parametrize(("argument", "make", "passed", "instead"), SYNC_CASES)
def test_the_blocking_client_refuses_each_httpx_object_by_name(
    argument: str, make: object, passed: str, instead: str
) -> None:
    value = make()  # type: ignore[operator]
    with pytest.raises(ConfigurationError, match=_refusal(argument, passed, instead)):
        MoniteSyncClient(token="t", base_url="http://127.0.0.1:9", **{argument: value})


async def test_with_options_refuses_an_httpx_timeout_and_nothing_is_sent() -> None:
    recorder = _Recorder()
    transport = httpx2.MockTransport(recorder)
    async with MoniteClient(token="t", base_url="http://127.0.0.1:9", transport=transport) as monite:
        with pytest.raises(
            ConfigurationError, match=_refusal("timeout", "an httpx.Timeout", "an httpx2.Timeout")
        ):
            monite.with_options(timeout=httpx.Timeout(5.0))
        assert await monite.mailbox_domains.list() == []  # the client itself still works
    assert len(recorder.sent) == 1


def test_the_blocking_with_options_refuses_an_httpx_timeout_and_nothing_is_sent() -> None:
    recorder = _Recorder()
    refused = _refusal("timeout", "an httpx.Timeout", "an httpx2.Timeout")
    with MoniteSyncClient(
        token="t", base_url="http://127.0.0.1:9", transport=httpx2.MockTransport(recorder)
    ) as monite:
        with pytest.raises(ConfigurationError, match=refused):
            monite.with_options(timeout=httpx.Timeout(5.0))
        assert monite.mailbox_domains.list() == []  # the client itself still works
    assert len(recorder.sent) == 1


async def test_an_httpx_client_is_refused_before_it_sends_anything() -> None:
    # The app's httpx client would send through its own transport: that transport sees nothing.
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as theirs:
        with pytest.raises(ConfigurationError, match=r"http_client= got an httpx\.AsyncClient"):
            MoniteClient(
                client_id="5c6a3a46-0000-4000-8000-000000000000", client_secret="s", http_client=theirs
            )
    assert seen == []


def test_httpx2_objects_and_plain_values_pass() -> None:
    refuse_foreign_http(
        transport=httpx2.MockTransport(_Recorder()),
        http_client=None,
        limits=httpx2.Limits(max_connections=3),
        timeout=httpx2.Timeout(2.0),
        seconds=5,
    )
