"""The fake Monite under trio as under asyncio: its in-process transport, `serve()` (uvicorn,
which runs on asyncio: from a thread under trio), `serve_in_thread()` and the fixtures."""

from __future__ import annotations

import anyio
import pytest
import sniffio

from monite_async import MoniteClient, MoniteConnectionError, MoniteTimeoutError, RetryPolicy
from monite_async.testing import FakeMonite

pytestmark = pytest.mark.event_loops("asyncio", "trio")


async def no_wait(seconds: float) -> None:
    return None


def client(fake: FakeMonite, base_url: str | None = None, **options: object) -> MoniteClient:
    in_process = base_url is None
    return MoniteClient(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        base_url=fake.base_url if base_url is None else base_url,
        **({"transport": fake.transport()} if in_process else {}),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


async def walkthrough(monite: MoniteClient) -> list[str]:
    domain = await monite.mailbox_domains.create("mail.example.com")
    await monite.mailbox_domains.verify(domain.id)
    verified = await monite.mailbox_domains.verify(domain.id)  # verify_after=2
    names = [d.domain for d in await monite.mailbox_domains.list()]
    await monite.mailbox_domains.delete(domain.id)
    return [str(verified.status), *names]


async def test_the_in_process_transport_runs_the_walkthrough_and_scripted_faults(
    fake_monite: FakeMonite, event_loop_name: str
) -> None:
    assert sniffio.current_async_library() == event_loop_name
    fake_monite.faults.fail_next("post_mailbox_domains", status=503)  # retried (instant: fixture)
    async with client(fake_monite) as monite:
        assert await walkthrough(monite) == ["verified", "mail.example.com"]
    assert [r.status for r in fake_monite.requests_to("post_mailbox_domains")] == [503, 201]
    assert fake_monite.token_requests == 1
    assert fake_monite.domains == []


async def test_the_in_process_transport_drops_and_times_out_as_a_socket_would(
    fake_monite: FakeMonite,
) -> None:
    fake_monite.faults.fail_next("get_mailbox_domains", times=2, drop_connection=True)
    async with client(fake_monite, max_retries=1, retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        with pytest.raises(MoniteConnectionError):
            await monite.mailbox_domains.list()
    fake_monite.faults.fail_next("get_mailbox_domains", times=2, delay=5)
    async with client(
        fake_monite, timeout=0.2, max_retries=1, retry_policy=RetryPolicy(sleep=no_wait)
    ) as monite:
        with anyio.fail_after(10), pytest.raises(MoniteTimeoutError):
            await monite.mailbox_domains.list()


async def test_serve_works_in_the_running_loop_whichever_it_is(event_loop_name: str) -> None:
    fake = FakeMonite(verify_after=2)
    with anyio.fail_after(30):
        async with fake.serve() as base_url, client(fake, base_url) as monite:
            assert base_url.startswith("http://127.0.0.1:")
            assert await walkthrough(monite) == ["verified", "mail.example.com"]
    assert fake.token_requests == 1


async def test_serve_in_thread_and_the_server_fixture_work_from_any_loop(
    fake_monite: FakeMonite, fake_monite_server: str
) -> None:
    async with client(fake_monite, fake_monite_server) as monite:
        assert await monite.mailbox_domains.list() == []
    other = FakeMonite()
    with other.serve_in_thread() as base_url:
        async with client(other, base_url) as monite:
            assert await monite.mailbox_domains.list() == []
    assert (fake_monite.token_requests, other.token_requests) == (1, 1)
