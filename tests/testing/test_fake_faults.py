"""Scripted faults, in process and over a real socket."""

from __future__ import annotations

import httpx2
import pytest
from fake_requests import VERSION, auth

from monite_async import MoniteClient, RetryPolicy
from monite_async.testing import FakeMonite


@pytest.mark.parametrize("status", [500, 503, 520])
async def test_next_requests_fail_with_the_scripted_status(
    http: httpx2.AsyncClient, fake_monite: FakeMonite, status: int
) -> None:
    headers = auth(fake_monite)
    fake_monite.faults.fail_next("get_mailbox_domains", times=2, status=status)

    answers = [await http.get("/mailbox_domains", headers=headers) for _ in range(3)]

    assert [a.status_code for a in answers] == [status, status, 200]
    assert "message" in answers[0].json()["error"]
    assert fake_monite.faults.pending() == 0
    assert [entry.status for entry in fake_monite.requests] == [status, status, 200]


async def test_faults_are_per_operation(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    headers = auth(fake_monite)
    fake_monite.faults.fail_next("post_mailbox_domains", status=500)

    listed = await http.get("/mailbox_domains", headers=headers)
    created = await http.post("/mailbox_domains", json={"domain": "a.example.com"}, headers=headers)

    assert listed.status_code == 200
    assert created.status_code == 500
    assert fake_monite.domains == []


async def test_retry_after_means_429(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    fake_monite.faults.fail_next("post_auth_token", retry_after=3)

    response = await http.post("/auth/token", json={}, headers=VERSION)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert fake_monite.token_requests == 0


async def test_drop_connection_in_process_is_an_httpx_transport_error(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    fake_monite.faults.fail_next("get_mailbox_domains", drop_connection=True)

    with pytest.raises(httpx2.RemoteProtocolError):
        await http.get("/mailbox_domains", headers=auth(fake_monite))
    assert fake_monite.requests[-1].status is None


async def test_non_json_answer_keeps_the_status(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    headers = auth(fake_monite)
    fake_monite.faults.fail_next("get_mailbox_domains", non_json=True)
    fake_monite.faults.fail_next("get_mailbox_domains", non_json=True, status=502)

    ok_status = await http.get("/mailbox_domains", headers=headers)
    bad_gateway = await http.get("/mailbox_domains", headers=headers)

    assert ok_status.status_code == 200
    assert ok_status.headers["content-type"].startswith("text/html")
    assert ok_status.text.startswith("<html>")
    assert bad_gateway.status_code == 502


async def test_unknown_enum_spoils_dns_record_types(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    fake_monite.faults.fail_next("post_mailbox_domains", unknown_enum=True)

    response = await http.post(
        "/mailbox_domains", json={"domain": "a.example.com"}, headers=auth(fake_monite)
    )

    records = response.json()["dns_records"]["sending_dns_records"]
    assert response.status_code == 201
    assert {r["record_type"] for r in records} == {"SRV"}
    # The stored domain keeps its real records.
    assert fake_monite.domains[0]["dns_records"]["sending_dns_records"][0]["record_type"] == "TXT"


async def test_missing_field_is_removed_from_each_item(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    headers = auth(fake_monite)
    for name in ("a.example.com", "b.example.com"):
        await http.post("/mailbox_domains", json={"domain": name}, headers=headers)
    fake_monite.faults.fail_next("get_mailbox_domains", missing_field="status")
    fake_monite.faults.fail_next("get_mailbox_domains", missing_field="dns_records.sending_dns_records")

    no_status = (await http.get("/mailbox_domains", headers=headers)).json()["data"]
    no_sending = (await http.get("/mailbox_domains", headers=headers)).json()["data"]

    assert [("status" in item) for item in no_status] == [False, False]
    assert [("sending_dns_records" in item["dns_records"]) for item in no_sending] == [False, False]
    assert all("status" in item for item in fake_monite.domains)


async def test_delay_then_normal_answer(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    fake_monite.faults.fail_next("get_mailbox_domains", delay=0.01)

    response = await http.get("/mailbox_domains", headers=auth(fake_monite))

    assert response.status_code == 200


async def test_a_delay_past_the_clients_read_timeout_is_a_read_timeout_in_process_too(
    fake_monite: FakeMonite,
) -> None:
    # ASGITransport enforces no timeout; the fake's transport must, or a timeout test on it
    # would simply wait out the delay and pass for the wrong reason.
    fake_monite.faults.fail_next("get_mailbox_domains", delay=30)
    async with httpx2.AsyncClient(
        transport=fake_monite.transport(), base_url=FakeMonite.base_url, timeout=0.05
    ) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get("/mailbox_domains", headers=auth(fake_monite))


async def test_the_sdk_sees_a_delayed_answer_as_a_timeout_and_retries_it(fake_monite: FakeMonite) -> None:
    fake_monite.faults.fail_next("get_mailbox_domains", times=1, delay=30)
    async with MoniteClient(
        client_id=fake_monite.client_id,
        client_secret=fake_monite.client_secret,
        base_url=fake_monite.base_url,
        transport=fake_monite.transport(),
        timeout=0.2,
        retry_policy=RetryPolicy(initial_backoff=0),
    ) as monite:
        assert await monite.mailbox_domains.list() == []
    assert len(fake_monite.requests_to("get_mailbox_domains")) == 2


@pytest.mark.parametrize(
    ("operation_id", "options", "message"),
    [
        ("get_payables", {"status": 500}, "unknown operation"),
        ("get_mailbox_domains", {}, "say what should go wrong"),
        ("get_mailbox_domains", {"status": 200}, "between 400 and 599"),
        ("get_mailbox_domains", {"status": 500, "times": 0}, "times"),
        ("post_auth_token", {"unknown_enum": True}, "no enum field"),
        ("get_mailbox_domains", {"drop_connection": True, "status": 500}, "cannot be combined"),
        ("get_mailbox_domains", {"status": 500, "missing_field": "data"}, "leave status unset"),
    ],
)
def test_fault_scripts_are_checked(operation_id: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FakeMonite().faults.fail_next(operation_id, **options)  # type: ignore[arg-type]


def test_clear_forgets_pending_faults() -> None:
    fake = FakeMonite()
    fake.faults.fail_next("get_mailbox_domains", times=3, status=500)

    fake.faults.clear()

    assert fake.faults.pending("get_mailbox_domains") == 0
