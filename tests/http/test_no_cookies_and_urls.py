"""The facade keeps no cookies, and resolves each request path against the base URL the way
httpx2 does (once per path, not per request)."""

from __future__ import annotations

import types
import uuid

import httpx2
import pytest
from loopback_server import LoopbackServer, Reply

from monite_async import MoniteClient, aiohttp_transport


async def test_a_cookie_monite_sets_is_neither_kept_nor_sent(loopback: LoopbackServer) -> None:
    loopback.script(
        "GET",
        "/mailbox_domains",
        Reply(200, json={"data": []}, headers={"set-cookie": "lb=sticky-7; Path=/"}),
    )
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()
        await monite.mailbox_domains.list()
        await monite.mailbox_domains.create("mail.example.com")
    assert loopback.count("GET", "/mailbox_domains") == 2
    for request in loopback.recorded():
        assert "cookie" not in request.headers, request


async def test_the_cookies_of_a_callers_http_client_are_not_sent(loopback: LoopbackServer) -> None:
    # README: an http_client= of yours keeps its own jar; none of it goes to Monite.
    own = httpx2.AsyncClient(cookies={"session": "the-callers-own"})
    async with own, loopback.client(http_client=own) as monite:
        await monite.mailbox_domains.list()
    (request,) = loopback.recorded("GET", "/mailbox_domains")
    assert "cookie" not in request.headers


async def test_a_cookie_set_for_a_host_name_is_not_sent_back() -> None:
    # The loopback test above uses an IP address, which some jars ignore anyway: a Monite host
    # name is what a jar would store. The client has no jar; nothing comes back.
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"data": []}, headers={"set-cookie": "lb=sticky-7; Path=/"})

    transport = httpx2.MockTransport(answer)
    async with MoniteClient(
        token="t0k", base_url="https://api.monite.test/v1", transport=transport
    ) as monite:
        await monite.mailbox_domains.list()
        await monite.mailbox_domains.list()
    assert len(seen) == 2
    assert "cookie" not in seen[1].headers


async def test_requests_with_ids_reach_their_paths(
    loopback: LoopbackServer,
) -> None:
    ids = [uuid.UUID(int=n) for n in range(1, 301)]
    for domain_id in ids:
        loopback.script("DELETE", f"/mailbox_domains/{domain_id}", Reply(204))
    async with loopback.client() as monite:
        for domain_id in ids:
            await monite.mailbox_domains.delete(domain_id)
    deleted = [request.path for request in loopback.recorded("DELETE")]
    assert deleted == [f"/v1/mailbox_domains/{domain_id}" for domain_id in ids]


async def test_the_aiohttp_backend_session_has_a_jar_that_keeps_nothing() -> None:
    # The loopback test above cannot tell: aiohttp's default jar already ignores cookies
    # set by an IP address such as 127.0.0.1. A Monite host name would be stored.
    aiohttp = pytest.importorskip("aiohttp")
    transport = aiohttp_transport()
    session = transport.get_client()  # type: ignore[attr-defined]
    try:
        assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
    finally:
        await session.close()
        await transport.aclose()


def test_a_request_on_a_client_without_a_version_header_is_built() -> None:
    from monite_generated.api.mailbox_domains import post_mailbox_domains
    from monite_generated.models import DomainRequest

    from monite_async._flow.failures import Redactor
    from monite_async._flow.options import CallOptions
    from monite_async._flow.request import Target, build

    options = CallOptions(timeout=httpx2.Timeout(5.0), max_retries=0, deadline=10.0, api_version="2024-05-25")
    http = Target("http://monite.test/v1", headers={})
    redactor = Redactor(list)
    body = {"body": DomainRequest(domain="m.example.com")}
    created = build(http, post_mailbox_domains, "post_mailbox_domains", ((), body), options, redactor)
    # An operation whose headers lack the version, on a client with no default for it.
    unversioned = types.ModuleType("monite_generated.api.extra.get_ping")
    unversioned._get_kwargs = lambda: {"method": "get", "url": "/ping", "headers": {}}  # type: ignore[attr-defined]
    unversioned._parse_response = lambda *, client, response: None  # type: ignore[attr-defined]
    ping = build(http, unversioned, "get_ping", ((), {}), options, redactor)
    assert created.headers["x-monite-version"] == "2024-05-25"
    assert str(created.url) == "http://monite.test/v1/mailbox_domains"
    assert str(ping.url) == "http://monite.test/v1/ping"
    assert "x-monite-version" not in ping.headers


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.sandbox.monite.com/v1",
        "https://api.sandbox.monite.com/v1/",
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/prefix/v1",
        "https://user@host.example:8443/a%20b/v1",
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/mailbox_domains",
        "mailbox_domains",
        f"/mailbox_domains/{uuid.UUID(int=7)}",
        "/auth/token",
        "/mailbox_domains/a b",
        "/mailbox_domains/é",
        "https://elsewhere.example/absolute",
    ],
)
def test_the_url_made_once_per_path_is_the_one_httpx2_would_build(base_url: str, path: str) -> None:
    from monite_async._flow.request import Target

    client = httpx2.Client(base_url=base_url)
    target = Target(base_url, headers={})
    assert str(target.url(path)) == str(client.build_request("GET", path).url)
    assert target.url(path) is target.url(path)  # made once
