"""The fake Monite's own behaviour, in process through httpx2 (no sockets)."""

from __future__ import annotations

import httpx2
import pytest
from fake_requests import VERSION, auth

from monite_async.testing import STALE_TOKEN_MESSAGE, FakeMonite


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def credentials(fake: FakeMonite, **changes: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        **changes,
    }


async def test_token_is_issued_for_the_right_credentials(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    response = await http.post("/auth/token", json=credentials(fake_monite), headers=VERSION)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    assert response.headers["x-monite-version"] == "2024-05-25"
    assert response.headers["x-request-id"]
    assert fake_monite.token_requests == 1


@pytest.mark.parametrize(
    "changes",
    [{"client_secret": "wrong"}, {"client_id": "00000000-0000-4000-8000-000000000000"}],
)
async def test_bad_credentials_are_refused(
    http: httpx2.AsyncClient, fake_monite: FakeMonite, changes: dict[str, str]
) -> None:
    response = await http.post("/auth/token", json=credentials(fake_monite, **changes), headers=VERSION)

    assert response.status_code == 401
    assert "message" in response.json()["error"]


async def test_token_body_is_validated_like_fastapi(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    body = {**credentials(fake_monite), "client_id": "not-a-uuid", "scope": "all"}
    del body["grant_type"]

    response = await http.post("/auth/token", json=body, headers=VERSION)

    assert response.status_code == 422
    problems = {(tuple(item["loc"]), item["type"]) for item in response.json()["detail"]}
    assert problems == {
        (("body", "grant_type"), "missing"),
        (("body", "client_id"), "uuid_parsing"),
        (("body", "scope"), "extra_forbidden"),
    }


async def test_malformed_json_gets_422(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    response = await http.post(
        "/mailbox_domains",
        content=b'{"domain": ',
        headers={**auth(fake_monite), "content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("headers", [{}, {"x-monite-version": "25-05-2024"}, {"x-monite-version": "latest"}])
async def test_missing_or_malformed_version_gets_400(
    http: httpx2.AsyncClient, fake_monite: FakeMonite, headers: dict[str, str]
) -> None:
    response = await http.post("/auth/token", json=credentials(fake_monite), headers=headers)

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "missing_api_version"
    assert fake_monite.token_requests == 0


async def test_unknown_version_is_refused_and_old_versions_create_with_200(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    token = fake_monite.issue_token()
    unknown = await http.get(
        "/mailbox_domains", headers={"x-monite-version": "2030-01-01", "authorization": f"Bearer {token}"}
    )
    old = await http.post(
        "/mailbox_domains",
        json={"domain": "old.example.com"},
        headers={"x-monite-version": "2023-09-01", "authorization": f"Bearer {token}"},
    )

    assert unknown.status_code == 400
    assert unknown.json()["error"]["type"] == "unsupported_api_version"
    assert old.status_code == 200
    assert old.headers["x-monite-version"] == "2023-09-01"


@pytest.mark.parametrize("authorization", [None, "Basic abc", "Bearer ", "Bearer unknown-token"])
async def test_missing_or_unknown_token_gets_401(http: httpx2.AsyncClient, authorization: str | None) -> None:
    headers = dict(VERSION)
    if authorization is not None:
        headers["authorization"] = authorization

    response = await http.get("/mailbox_domains", headers=headers)

    assert response.status_code == 401


async def test_expired_token_is_refused_after_its_lifetime() -> None:
    clock = Clock()
    fake = FakeMonite(token_lifetime=60.0, clock=clock)
    headers = auth(fake)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as http:
        fresh = await http.get("/mailbox_domains", headers=headers)
        clock.now += 60.0
        stale = await http.get("/mailbox_domains", headers=headers)

    assert fresh.status_code == 200
    assert stale.status_code == 401
    assert stale.json()["error"]["message"] == STALE_TOKEN_MESSAGE


@pytest.mark.fake_monite(stale_token_status=400)
async def test_stale_token_status_can_be_monites_observed_400(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    headers = auth(fake_monite)
    fake_monite.expire_tokens()

    response = await http.get("/mailbox_domains", headers=headers)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The token has been revoked, expired or not found."


async def test_revoked_token_is_refused(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    headers = auth(fake_monite)
    victim = fake_monite.issue_token()
    revoke_body = {
        "client_id": fake_monite.client_id,
        "client_secret": fake_monite.client_secret,
        "token": victim,
    }

    revoked = await http.post("/auth/revoke", json=revoke_body, headers=headers)
    refused = await http.get("/mailbox_domains", headers={**VERSION, "authorization": f"Bearer {victim}"})
    fake_monite.revoke(headers["authorization"].removeprefix("Bearer "))
    refused_too = await http.get("/mailbox_domains", headers=headers)

    assert revoked.status_code == 200
    assert revoked.json() == {"message": "Token revoked"}
    assert refused.status_code == 401
    assert refused_too.status_code == 401


async def test_revoke_with_wrong_credentials_leaves_the_token_working(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    headers = auth(fake_monite)
    token = headers["authorization"].removeprefix("Bearer ")
    body = {"client_id": fake_monite.client_id, "client_secret": "wrong", "token": token}

    await http.post("/auth/revoke", json=body, headers=headers)
    still = await http.get("/mailbox_domains", headers=headers)

    assert still.status_code == 200


async def test_domain_lifecycle(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    headers = auth(fake_monite)

    created = await http.post("/mailbox_domains", json={"domain": "Mail.Example.com"}, headers=headers)
    domain = created.json()
    listed = await http.get("/mailbox_domains", headers=headers)
    first = await http.post(f"/mailbox_domains/{domain['id']}/verify", headers=headers)
    second = await http.post(f"/mailbox_domains/{domain['id']}/verify", headers=headers)
    deleted = await http.delete(f"/mailbox_domains/{domain['id']}", headers=headers)
    gone = await http.delete(f"/mailbox_domains/{domain['id']}", headers=headers)

    assert created.status_code == 201
    assert domain["domain"] == "mail.example.com"
    assert domain["status"] == "waiting_to_be_verified"
    assert listed.json() == {"data": [domain]}
    assert first.json() == {
        "id": domain["id"],
        "domain": "mail.example.com",
        "status": "waiting_to_be_verified",
    }
    assert second.json()["status"] == "verified"
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert gone.status_code == 404
    assert fake_monite.domains == []


async def test_dns_records_cover_spf_dkim_mx_and_tracking(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    response = await http.post(
        "/mailbox_domains", json={"domain": "mail.example.com"}, headers=auth(fake_monite)
    )

    records = response.json()["dns_records"]
    sending = {(r["record_type"], r.get("record_purpose")): r for r in records["sending_dns_records"]}
    assert sending["TXT", "SPF"]["value"].startswith("v=spf1 ")
    assert sending["TXT", "SPF"]["name"] == "mail.example.com"
    assert sending["TXT", "DKIM"]["name"].endswith("._domainkey.mail.example.com")
    assert sending["TXT", "DKIM"]["value"].startswith("k=rsa; p=")
    assert sending["CNAME", None]["name"] == "email.mail.example.com"
    assert [r["record_type"] for r in records["receiving_dns_records"]] == ["MX", "MX"]
    assert all(r["valid"] == "unknown" for r in records["sending_dns_records"])


@pytest.mark.fake_monite(verify_after=1)
async def test_verified_domain_shows_valid_records(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    headers = auth(fake_monite)
    created = (await http.post("/mailbox_domains", json={"domain": "a.example.com"}, headers=headers)).json()

    verified = await http.post(f"/mailbox_domains/{created['id']}/verify", headers=headers)

    assert verified.json()["status"] == "verified"
    stored = fake_monite.domains[0]
    assert stored["status"] == "verified"
    assert all(r["valid"] == "valid" for r in stored["dns_records"]["sending_dns_records"])


async def test_duplicate_domain_gets_409(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    headers = auth(fake_monite)
    await http.post("/mailbox_domains", json={"domain": "mail.example.com"}, headers=headers)

    again = await http.post("/mailbox_domains", json={"domain": "MAIL.example.com"}, headers=headers)

    assert again.status_code == 409
    assert "already exists" in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"domain": "-bad.example.com"}, "value_error"),
        ({"domain": "bad-.example.com"}, "value_error"),
        ({"domain": "under_score.example.com"}, "value_error"),
        ({"domain": "trailing.dot."}, "value_error"),
        ({"domain": "a" * 64 + ".example.com"}, "value_error"),
        ({"domain": ("a" * 60 + ".") * 5 + "com"}, "value_error"),  # 308 characters
        ({"domain": ""}, "value_error"),
        ({"domain": 42}, "string_type"),
        ({}, "missing"),
        ({"domain": "ok.example.com", "extra": 1}, "extra_forbidden"),
    ],
)
async def test_invalid_domains_get_fastapi_422(
    http: httpx2.AsyncClient, fake_monite: FakeMonite, body: dict[str, object], problem: str
) -> None:
    response = await http.post("/mailbox_domains", json=body, headers=auth(fake_monite))

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [item["type"] for item in detail] == [problem]
    assert detail[0]["loc"][0] == "body"
    assert fake_monite.domains == []


async def test_longest_valid_hostname_is_accepted(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    name = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters, four 61-63 character labels
    assert len(name) == 253

    response = await http.post("/mailbox_domains", json={"domain": name}, headers=auth(fake_monite))

    assert response.status_code == 201


async def test_unknown_ids_get_404_and_malformed_ids_422(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    headers = auth(fake_monite)

    missing = await http.post("/mailbox_domains/3fa85f64-5717-4562-b3fc-2c963f66afa6/verify", headers=headers)
    malformed = await http.delete("/mailbox_domains/not-a-uuid", headers=headers)

    assert missing.status_code == 404
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["path", "domain_id"]


async def test_unknown_path_and_wrong_method_answer_json(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    headers = auth(fake_monite)

    unknown = await http.get("/payables", headers=headers)
    wrong_method = await http.put("/mailbox_domains", headers=headers)
    outside = await http.get("http://fake-monite.test/mailbox_domains", headers=headers)

    assert unknown.status_code == 404
    assert outside.status_code == 404
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, POST"
    assert "message" in wrong_method.json()["error"]


async def test_rate_limit_answers_429_with_retry_after() -> None:
    clock = Clock()
    fake = FakeMonite(rate_limit=2, clock=clock)
    headers = auth(fake)
    async with httpx2.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as http:
        answers = [await http.get("/mailbox_domains", headers=headers) for _ in range(3)]
        clock.now += 1.0
        after_window = await http.get("/mailbox_domains", headers=headers)

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "1"
    assert answers[0].headers["ratelimit-limit"] == "2"
    assert answers[0].headers["ratelimit-remaining"] == "1"
    assert answers[2].headers["ratelimit-remaining"] == "0"
    assert after_window.status_code == 200


async def test_request_log_redacts_secrets(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    token_response = await http.post("/auth/token", json=credentials(fake_monite), headers=VERSION)
    token = token_response.json()["access_token"]
    await http.get("/mailbox_domains", headers={**VERSION, "authorization": f"Bearer {token}"})

    first, second = fake_monite.requests
    assert (first.method, first.path, first.operation_id, first.status) == (
        "POST",
        "/v1/auth/token",
        "post_auth_token",
        200,
    )
    assert first.json["client_secret"] == "[redacted]"
    assert first.json["client_id"] == fake_monite.client_id
    assert second.headers["authorization"] == "[redacted]"
    assert second.headers["x-monite-version"] == "2024-05-25"
    assert token not in repr(fake_monite.requests)
    assert fake_monite.client_secret not in repr(fake_monite.requests)
    assert fake_monite.client_secret not in repr(fake_monite)
    assert fake_monite.requests_to("get_mailbox_domains") == [second]


def test_knobs_are_checked() -> None:
    with pytest.raises(ValueError, match="stale_token_status"):
        FakeMonite(stale_token_status=403)
    with pytest.raises(ValueError, match="verify_after"):
        FakeMonite(verify_after=0)
    with pytest.raises(ValueError, match="rate_limit"):
        FakeMonite(rate_limit=0)
    with pytest.raises(KeyError):
        FakeMonite().revoke("never-issued")


async def test_clear_requests_forgets_the_log(http: httpx2.AsyncClient, fake_monite: FakeMonite) -> None:
    await http.get("/mailbox_domains", headers=auth(fake_monite))

    fake_monite.clear_requests()
    await http.get("/mailbox_domains", headers=VERSION)

    assert [entry.status for entry in fake_monite.requests] == [401]


@pytest.mark.fake_monite(log_limit=3)
async def test_the_request_log_keeps_only_the_newest_requests(
    http: httpx2.AsyncClient, fake_monite: FakeMonite
) -> None:
    headers = auth(fake_monite)
    for _ in range(5):
        await http.get("/mailbox_domains", headers=headers)
    await http.delete("/mailbox_domains/3fa85f64-5717-4562-b3fc-2c963f66afa6", headers=headers)

    assert [entry.method for entry in fake_monite.requests] == ["GET", "GET", "DELETE"]


def test_log_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="log_limit"):
        FakeMonite(log_limit=0)
