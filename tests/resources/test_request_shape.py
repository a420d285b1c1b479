"""httpx2-pytest pins the exact request of all six operations: method, URL, headers, body."""

from __future__ import annotations

import json
import uuid

import httpx2
import pytest
from pytest_httpx2 import HTTPXMock

from monite_async import API_VERSION, DEFAULT_BASE_URL, DomainResponse, MoniteClient, VerifyResponse

CLIENT_ID = "0b4c7d5e-6f8a-4b9c-8d1e-2f3a4b5c6d7e"
CLIENT_SECRET = "shape-secret"
TOKEN = "shape-token-123"
DOMAIN_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
DOMAIN = {
    "id": DOMAIN_ID,
    "domain": "mail.example.com",
    "status": "waiting_to_be_verified",
    "dns_records": {},
}


@pytest.fixture
def token_endpoint(httpx2_mock: HTTPXMock) -> HTTPXMock:
    httpx2_mock.add_response(
        method="POST",
        url=f"{DEFAULT_BASE_URL}/auth/token",
        json={"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"},
    )
    return httpx2_mock


def client() -> MoniteClient:
    return MoniteClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=DEFAULT_BASE_URL)


def assert_common_headers(request: httpx2.Request, *, signed: bool = True) -> None:
    assert request.headers["x-monite-version"] == API_VERSION
    assert request.headers["user-agent"] == "monite-async/0.1.0"
    if signed:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    else:
        assert "authorization" not in request.headers


def assert_token_request(request: httpx2.Request) -> None:
    assert request.method == "POST"
    assert str(request.url) == f"{DEFAULT_BASE_URL}/auth/token"
    assert_common_headers(request, signed=False)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


async def test_post_auth_token_and_get_mailbox_domains(token_endpoint: HTTPXMock) -> None:
    token_endpoint.add_response(
        method="GET", url=f"{DEFAULT_BASE_URL}/mailbox_domains", json={"data": [DOMAIN]}
    )
    async with client() as monite:
        domains = await monite.mailbox_domains.list()
    assert [str(d.id) for d in domains] == [DOMAIN_ID]
    token_request, listing = token_endpoint.get_requests()
    assert_token_request(token_request)
    assert listing.method == "GET"
    assert str(listing.url) == f"{DEFAULT_BASE_URL}/mailbox_domains"
    assert_common_headers(listing)
    assert listing.content == b""
    assert "content-type" not in listing.headers


async def test_post_mailbox_domains(token_endpoint: HTTPXMock) -> None:
    token_endpoint.add_response(
        method="POST",
        url=f"{DEFAULT_BASE_URL}/mailbox_domains",
        status_code=201,
        json=DOMAIN,
        match_json={"domain": "mail.example.com"},
    )
    async with client() as monite:
        created = await monite.mailbox_domains.create("mail.example.com")
    assert isinstance(created, DomainResponse)
    _, create = token_endpoint.get_requests()
    assert create.method == "POST"
    assert str(create.url) == f"{DEFAULT_BASE_URL}/mailbox_domains"
    assert_common_headers(create)
    assert create.headers["content-type"] == "application/json"
    assert json.loads(create.content) == {"domain": "mail.example.com"}


async def test_post_mailbox_domains_id_verify(token_endpoint: HTTPXMock) -> None:
    token_endpoint.add_response(
        method="POST",
        url=f"{DEFAULT_BASE_URL}/mailbox_domains/{DOMAIN_ID}/verify",
        json={"id": DOMAIN_ID, "domain": "mail.example.com", "status": "verified"},
    )
    async with client() as monite:
        result = await monite.mailbox_domains.verify(uuid.UUID(DOMAIN_ID))
    assert isinstance(result, VerifyResponse)
    assert result.status == "verified"
    _, verify = token_endpoint.get_requests()
    assert verify.method == "POST"
    assert str(verify.url) == f"{DEFAULT_BASE_URL}/mailbox_domains/{DOMAIN_ID}/verify"
    assert_common_headers(verify)
    assert verify.content == b""


async def test_delete_mailbox_domains_id(token_endpoint: HTTPXMock) -> None:
    token_endpoint.add_response(
        method="DELETE", url=f"{DEFAULT_BASE_URL}/mailbox_domains/{DOMAIN_ID}", status_code=204
    )
    async with client() as monite:
        assert await monite.mailbox_domains.delete(DOMAIN_ID) is None
    _, delete = token_endpoint.get_requests()
    assert delete.method == "DELETE"
    assert str(delete.url) == f"{DEFAULT_BASE_URL}/mailbox_domains/{DOMAIN_ID}"
    assert_common_headers(delete)
    assert delete.content == b""


async def test_post_auth_revoke(token_endpoint: HTTPXMock) -> None:
    token_endpoint.add_response(method="GET", url=f"{DEFAULT_BASE_URL}/mailbox_domains", json={"data": []})
    token_endpoint.add_response(
        method="POST", url=f"{DEFAULT_BASE_URL}/auth/revoke", json={"message": "Token revoked"}
    )
    async with client() as monite:
        await monite.mailbox_domains.list()
        assert await monite.auth.revoke() is True
    _, _, revoke = token_endpoint.get_requests()
    assert revoke.method == "POST"
    assert str(revoke.url) == f"{DEFAULT_BASE_URL}/auth/revoke"
    assert_common_headers(revoke)
    assert revoke.headers["content-type"] == "application/json"
    assert json.loads(revoke.content) == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token": TOKEN,
    }


async def test_a_static_token_is_sent_as_is(httpx2_mock: HTTPXMock) -> None:
    httpx2_mock.add_response(method="GET", url=f"{DEFAULT_BASE_URL}/mailbox_domains", json={"data": []})
    async with MoniteClient(token=TOKEN, base_url=DEFAULT_BASE_URL) as monite:
        await monite.mailbox_domains.list()
    (listing,) = httpx2_mock.get_requests()
    assert_common_headers(listing)


async def test_an_overridden_version_is_sent_on_the_token_request_too(httpx2_mock: HTTPXMock) -> None:
    httpx2_mock.add_response(
        method="POST",
        url=f"{DEFAULT_BASE_URL}/auth/token",
        match_headers={"x-monite-version": "2023-09-01"},
        json={"access_token": TOKEN, "expires_in": 60, "token_type": "Bearer"},
    )
    httpx2_mock.add_response(
        method="GET",
        url=f"{DEFAULT_BASE_URL}/mailbox_domains",
        match_headers={"x-monite-version": "2023-09-01", "Authorization": f"Bearer {TOKEN}"},
        json={"data": []},
    )
    async with MoniteClient(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=DEFAULT_BASE_URL, api_version="2023-09-01"
    ) as monite:
        assert await monite.mailbox_domains.list() == []
