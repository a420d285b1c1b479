"""The fake Monite as users meet it: MoniteClient and MoniteSyncClient in process and over a
socket, faults scripted.

Every test with a client runs twice: on MoniteClient over `fake.transport()` (`[async]`), and
on MoniteSyncClient over `fake.sync_transport()` (`[sync]`, driven from worker threads by
tests/sync_adapter.py, as the socket suites drive it)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from sync_adapter import ThreadedSyncClient

import monite_async
from monite_async import (
    DNSRecords,
    MoniteClient,
    MoniteConnectionError,
    MoniteSyncClient,
    NotFoundError,
    ServerError,
    UnexpectedResponseError,
    is_known,
)
from monite_async.testing import FakeMonite


@pytest.fixture(autouse=True)
def instant_retries() -> Iterator[None]:
    monite_async.set_testing(True)
    yield
    monite_async.set_testing(False)


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client the test drives: MoniteClient ("async") or MoniteSyncClient ("sync")."""
    return str(request.param)


def make_client(kind: str, fake: FakeMonite, base_url: str | None = None, **options: Any) -> Any:
    """A client of `kind` on `fake`: in process, or on `base_url` (a socket) if given."""
    settings: dict[str, Any] = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "base_url": base_url or fake.base_url,
        **options,
    }
    if kind == "sync":
        if base_url is None:
            settings["transport"] = fake.sync_transport()
        return ThreadedSyncClient(MoniteSyncClient(**settings))
    if base_url is None:
        settings["transport"] = fake.transport()
    return MoniteClient(**settings)


@pytest.fixture
async def monite(fake_monite: FakeMonite, kind: str) -> AsyncIterator[MoniteClient]:
    async with make_client(kind, fake_monite) as client:
        yield client


@pytest.mark.fake_monite(verify_after=1)
async def test_walkthrough_in_process(monite: MoniteClient, fake_monite: FakeMonite) -> None:
    created = await monite.mailbox_domains.create("mail.example.com")
    verified = await monite.mailbox_domains.verify(created.id)
    listed = await monite.mailbox_domains.list()
    await monite.mailbox_domains.delete(created.id)

    assert isinstance(created.dns_records, DNSRecords)
    assert verified.status == "verified"
    assert [d.id for d in listed] == [created.id]
    assert fake_monite.domains == []
    assert fake_monite.token_requests == 1
    operations = [entry.operation_id for entry in fake_monite.requests]
    assert operations == [
        "post_auth_token",
        "post_mailbox_domains",
        "post_mailbox_domains_id_verify",
        "get_mailbox_domains",
        "delete_mailbox_domains_id",
    ]
    assert {entry.headers["x-monite-version"] for entry in fake_monite.requests} == {"2024-05-25"}


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 503},
        {"status": 429, "retry_after": 1},
        {"drop_connection": True},
    ],
)
async def test_transient_faults_are_retried(
    monite: MoniteClient, fake_monite: FakeMonite, fault: dict[str, object]
) -> None:
    fake_monite.faults.fail_next("get_mailbox_domains", **fault)  # type: ignore[arg-type]

    assert await monite.mailbox_domains.list() == []
    assert [e.status for e in fake_monite.requests_to("get_mailbox_domains")][-1] == 200
    assert len(fake_monite.requests_to("get_mailbox_domains")) == 2


@pytest.mark.parametrize("status", [500, 520])
async def test_persistent_5xx_becomes_server_error(
    monite: MoniteClient, fake_monite: FakeMonite, status: int
) -> None:
    # 520 (a CDN's "unknown error") is outside http.HTTPStatus: it must still be a typed error.
    fake_monite.faults.fail_next("get_mailbox_domains", times=3, status=status)

    with pytest.raises(ServerError) as caught:
        await monite.mailbox_domains.list()
    assert caught.value.status_code == status


@pytest.mark.parametrize("stale_token_status", [401, 400])
async def test_expired_token_is_refreshed_once(stale_token_status: int, kind: str) -> None:
    fake = FakeMonite(stale_token_status=stale_token_status)
    async with make_client(kind, fake) as monite:
        await monite.mailbox_domains.list()
        fake.expire_tokens()
        await monite.mailbox_domains.list()

    assert fake.token_requests == 2
    statuses = [entry.status for entry in fake.requests_to("get_mailbox_domains")]
    assert statuses == [200, stale_token_status, 200]


async def test_unknown_enum_still_parses(monite: MoniteClient, fake_monite: FakeMonite) -> None:
    fake_monite.faults.fail_next("post_mailbox_domains", unknown_enum=True)

    created = await monite.mailbox_domains.create("mail.example.com")

    assert isinstance(created.dns_records, DNSRecords)
    record_type = created.dns_records.sending_dns_records[0].record_type
    assert record_type.value == "SRV"
    assert not is_known(record_type)


@pytest.mark.parametrize("fault", [{"non_json": True}, {"missing_field": "status"}])
async def test_broken_answers_become_typed_errors(
    monite: MoniteClient, fake_monite: FakeMonite, fault: dict[str, object]
) -> None:
    fake_monite.faults.fail_next("post_mailbox_domains", **fault)  # type: ignore[arg-type]

    with pytest.raises(UnexpectedResponseError):
        await monite.mailbox_domains.create("mail.example.com")


async def test_unknown_id_is_not_found(monite: MoniteClient) -> None:
    with pytest.raises(NotFoundError):
        await monite.mailbox_domains.delete("3fa85f64-5717-4562-b3fc-2c963f66afa6")


async def test_over_a_socket_with_a_dropped_connection(kind: str) -> None:
    fake = FakeMonite()
    async with fake.serve() as base_url, make_client(kind, fake, base_url, max_retries=1) as monite:
        fake.faults.fail_next("post_mailbox_domains", drop_connection=True)
        created = await monite.mailbox_domains.create("mail.example.com")
        fake.faults.fail_next("get_mailbox_domains", times=2, drop_connection=True)
        with pytest.raises(MoniteConnectionError):
            await monite.mailbox_domains.list()

    assert created.domain == "mail.example.com"
    assert [e.status for e in fake.requests_to("post_mailbox_domains")] == [None, 201]


# --------------------------------------------------------------------------------
# FakeMonite.sync_transport() on its own: a blocking httpx2.Client onto the app in process.


def portal_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "fake-monite-portal")


def test_sync_transport_serves_a_plain_httpx_client_and_its_thread_ends_with_it() -> None:
    fake = FakeMonite()
    before = portal_threads()
    transport = fake.sync_transport()
    assert portal_threads() == before  # nothing started until the first request
    with httpx2.Client(transport=transport, base_url=fake.base_url) as http:
        answer = http.post(
            "/auth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": fake.client_id,
                "client_secret": fake.client_secret,
            },
            headers={"x-monite-version": "2024-05-25"},
        )
        assert answer.status_code == 200
        assert answer.json()["token_type"] == "Bearer"
        assert answer.request.url.path == "/v1/auth/token"
        assert portal_threads() == before + 1
    assert portal_threads() == before  # closed with the client, its thread joined
    assert fake.token_requests == 1
    with pytest.raises(RuntimeError, match="closed"):
        transport.handle_request(httpx2.Request("GET", fake.base_url + "/mailbox_domains"))


def test_sync_transport_drops_a_connection_as_a_socket_would() -> None:
    fake = FakeMonite()
    fake.faults.fail_next("get_mailbox_domains", drop_connection=True)
    with httpx2.Client(transport=fake.sync_transport(), base_url=fake.base_url) as http:
        request = http.build_request("GET", "/mailbox_domains", headers={"x-monite-version": "2024-05-25"})
        with pytest.raises(httpx2.RemoteProtocolError) as info:
            http.send(request)
        assert info.value.request is request  # the caller's request, not the portal's copy
        assert http.send(request).status_code == 401  # the drop was one request; no token sent


def test_sync_transport_is_shared_by_threads() -> None:
    fake = FakeMonite()
    results: list[int] = []
    with MoniteSyncClient(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        base_url=fake.base_url,
        transport=fake.sync_transport(),
    ) as monite:

        def create(number: int) -> None:
            monite.mailbox_domains.create(f"mail{number}.example.com")
            results.append(number)

        threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in threads)
        listed = monite.mailbox_domains.list()
    assert sorted(results) == list(range(20))
    assert sorted(d.domain for d in listed) == sorted(f"mail{n}.example.com" for n in range(20))
    assert fake.token_requests == 1
