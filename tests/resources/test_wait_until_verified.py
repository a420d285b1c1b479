"""`mailbox_domains.wait_until_verified`: against the fake with `verify_after=3`, the growing
capped interval, one INFO line per check, the timeout error's shape, errors propagating."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import anyio
import pytest

from monite_async import (
    InvalidRequestError,
    MoniteClient,
    MoniteError,
    NotFoundError,
    ServerError,
    VerificationTimeoutError,
    VerifyResponse,
)
from monite_async.testing import FakeMonite


@pytest.fixture
async def monite(fake_monite: FakeMonite) -> AsyncIterator[MoniteClient]:
    async with MoniteClient(
        client_id=fake_monite.client_id,
        client_secret=fake_monite.client_secret,
        base_url=fake_monite.base_url,
        transport=fake_monite.transport(),
    ) as client:
        yield client


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between checks, recorded; no time passes."""
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(anyio, "sleep", sleep)  # the waits between checks (the resource flows' carrier)
    return waited


@pytest.mark.fake_monite(verify_after=3)
async def test_it_checks_until_verified_and_logs_one_line_per_check(
    monite: MoniteClient, fake_monite: FakeMonite, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    domain = await monite.mailbox_domains.create("mail.example.com")
    seen: list[tuple[int, str]] = []
    caplog.set_level(logging.INFO, logger="monite_async")

    result = await monite.mailbox_domains.wait_until_verified(
        domain.id, interval=2.0, on_check=lambda checks, answer: seen.append((checks, answer.status))
    )

    assert isinstance(result, VerifyResponse)
    assert result.status == "verified"
    assert len(fake_monite.requests_to("post_mailbox_domains_id_verify")) == 3
    assert seen == [(1, "waiting_to_be_verified"), (2, "waiting_to_be_verified"), (3, "verified")]
    assert sleeps == [2.0, 3.0]
    lines = [r.getMessage() for r in caplog.records if "Verify check" in r.getMessage()]
    assert lines == [
        f"Verify check 1 of mailbox domain {domain.id}: waiting_to_be_verified; next check in 2.0 s",
        f"Verify check 2 of mailbox domain {domain.id}: waiting_to_be_verified; next check in 3.0 s",
        f"Verify check 3 of mailbox domain {domain.id}: verified",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if "Verify check" in r.getMessage())


@pytest.mark.fake_monite(verify_after=9)
async def test_the_interval_grows_by_half_and_is_capped(monite: MoniteClient, sleeps: list[float]) -> None:
    domain = await monite.mailbox_domains.create("mail.example.com")
    await monite.mailbox_domains.wait_until_verified(domain.id)  # interval 15 s: cap 60 s
    assert sleeps == [15.0, 22.5, 33.75, 50.625, 60.0, 60.0, 60.0, 60.0]

    sleeps.clear()
    other = await monite.mailbox_domains.create("other.example.com")
    await monite.mailbox_domains.wait_until_verified(other.id, interval=1.0)  # cap: 4x
    assert sleeps == [1.0, 1.5, 2.25, 3.375, 4.0, 4.0, 4.0, 4.0]


@pytest.mark.fake_monite(verify_after=1000)
async def test_the_timeout_is_a_verification_timeout_error(monite: MoniteClient) -> None:
    domain = await monite.mailbox_domains.create("mail.example.com")
    with anyio.fail_after(10):
        with pytest.raises(VerificationTimeoutError) as caught:
            await monite.mailbox_domains.wait_until_verified(domain.id, timeout=0.3, interval=0.05)

    error = caught.value
    assert isinstance(error, MoniteError)
    assert error.last_status == "waiting_to_be_verified"
    assert error.checks >= 3
    assert error.attempts == error.checks  # no retries were needed
    assert error.operation == "post_mailbox_domains_id_verify"
    assert error.request_id is not None
    assert error.status_code is None
    assert str(error) == (
        f"mailbox domain {domain.id} was not verified within 0.3 s "
        "(operation post_mailbox_domains_id_verify, "
        f"request id {error.request_id}, {error.checks} attempts, {error.checks} checks, "
        "last status waiting_to_be_verified)"
    )


@pytest.mark.fake_monite(verify_after=1000)
async def test_a_zero_timeout_checks_once(monite: MoniteClient, sleeps: list[float]) -> None:
    domain = await monite.mailbox_domains.create("mail.example.com")
    with pytest.raises(VerificationTimeoutError) as caught:
        await monite.mailbox_domains.wait_until_verified(domain.id, timeout=0)
    assert caught.value.checks == 1
    assert sleeps == []


async def test_errors_other_than_not_yet_propagate(
    monite: MoniteClient, fake_monite: FakeMonite, sleeps: list[float]
) -> None:
    with pytest.raises(NotFoundError):
        await monite.mailbox_domains.wait_until_verified(uuid.uuid4())
    domain = await monite.mailbox_domains.create("mail.example.com")
    fake_monite.faults.fail_next("post_mailbox_domains_id_verify", status=500, times=10)
    with pytest.raises(ServerError):
        await monite.mailbox_domains.wait_until_verified(domain.id)


@pytest.mark.parametrize(
    ("timeout", "interval", "text"),
    [
        (-1, 15.0, "timeout must be a finite number of seconds, zero or more; got -1"),
        (float("inf"), 15.0, "timeout must be"),
        (600.0, 0, "interval must be a finite number of seconds, more than zero; got 0"),
        (600.0, True, "interval must be"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_sent(
    monite: MoniteClient,
    fake_monite: FakeMonite,
    timeout: float,  # noqa: ASYNC109 - a parameter of the test, not of an async API
    interval: float,
    text: str,
) -> None:
    with pytest.raises(InvalidRequestError, match=text):
        await monite.mailbox_domains.wait_until_verified(uuid.uuid4(), timeout=timeout, interval=interval)
    assert fake_monite.requests_to("post_mailbox_domains_id_verify") == []
