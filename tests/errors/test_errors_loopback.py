"""Typed errors and safe parsing over real sockets: nothing raw escapes, nothing secret leaks."""

from __future__ import annotations

import json
import logging
import traceback
import uuid

import pytest
from loopback_server import CLIENT_SECRET, LoopbackServer, Recorded, Reply, error

from monite_async import (
    API_VERSION,
    DNSRecordPurpose,
    DNSRecords,
    DNSRecordType,
    MoniteAPIError,
    MoniteConnectionError,
    MoniteError,
    MoniteTimeoutError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
    is_known,
)

pytestmark = [pytest.mark.event_loops("asyncio", "trio"), pytest.mark.sync_client]


async def no_wait(seconds: float) -> None:
    return None


INSTANT = RetryPolicy(sleep=no_wait)


@pytest.mark.parametrize("status", [520, 599])
async def test_non_standard_5xx_is_a_server_error(loopback: LoopbackServer, status: int) -> None:
    # A CDN's 520-530 and any other 5xx but 501/505 are retried: three answers, three attempts.
    loopback.script("GET", "/mailbox_domains", *[Reply(status, body=b"origin unreachable")] * 3)
    async with loopback.client(retry_policy=INSTANT) as monite:
        with pytest.raises(ServerError) as info:
            await monite.mailbox_domains.list()
    assert info.value.attempts == 3
    assert info.value.status_code == status
    assert info.value.content == b"origin unreachable"
    assert "not JSON" in info.value.message


async def test_non_json_500_body_is_a_typed_server_error(loopback: LoopbackServer) -> None:
    page = Reply(500, body=b"<html>Internal Server Error</html>", headers={"content-type": "text/html"})
    loopback.script("GET", "/mailbox_domains", page, page, page)
    async with loopback.client(retry_policy=INSTANT) as monite:
        with pytest.raises(ServerError) as info:
            await monite.mailbox_domains.list()
    assert info.value.attempts == 3
    assert "the body is not JSON (text/html)" in info.value.message
    assert info.value.content == b"<html>Internal Server Error</html>"


async def test_status_errors_carry_status_message_request_id_and_body(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        with pytest.raises(NotFoundError) as info:
            await monite.mailbox_domains.verify(uuid.uuid4())
    exc = info.value
    assert exc.status_code == 404
    assert exc.message == "Mailbox domain not found"
    assert exc.request_id == "req-2"  # the token request was req-1
    assert exc.content == b'{"error": {"message": "Mailbox domain not found"}}'
    assert exc.operation == "post_mailbox_domains_id_verify"


async def test_422_carries_the_field_errors(loopback: LoopbackServer) -> None:
    detail = [
        {"loc": ["body", "domain"], "msg": "value is not a valid hostname", "type": "value_error"},
        {"loc": ["header", "x-monite-version"], "msg": "field required", "type": "missing"},
    ]
    loopback.script("POST", "/mailbox_domains", Reply(422, json={"detail": detail}))
    async with loopback.client() as monite:
        with pytest.raises(ValidationError) as info:
            await monite.mailbox_domains.create("mail.example.com")
    errors = info.value.field_errors
    assert [(e.location, e.message, e.type) for e in errors] == [
        (("body", "domain"), "value is not a valid hostname", "value_error"),
        (("header", "x-monite-version"), "field required", "missing"),
    ]
    assert "body.domain: value is not a valid hostname" in str(info.value)


async def test_rate_limit_error_carries_the_wait(loopback: LoopbackServer) -> None:
    # A 429 is waited out, bounded by the deadline alone: when its Retry-After would pass
    # the deadline, the call fails now, with the wait on the error.
    limited = error(429, "Too many requests", **{"Retry-After": "1"})
    loopback.script("GET", "/mailbox_domains", limited, limited, limited)
    async with loopback.client(retry_policy=INSTANT, deadline=0.8) as monite:
        with pytest.raises(RateLimitError) as info:
            await monite.mailbox_domains.list()
    assert info.value.retry_after == 1.0
    assert info.value.attempts == 1


async def test_a_redirect_is_an_unexpected_response(loopback: LoopbackServer) -> None:
    loopback.script(
        "GET", "/mailbox_domains", Reply(302, headers={"location": "http://127.0.0.1:1/elsewhere"})
    )
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError) as info:
            await monite.mailbox_domains.list()
    assert info.value.status_code == 302
    assert "does not declare" in info.value.message
    assert loopback.count() == 2  # token + the one GET; the redirect was not followed


async def test_unknown_enum_values_are_kept_not_fatal(loopback: LoopbackServer) -> None:
    domain = loopback.add_domain("mail.example.com")
    domain["dns_records"]["sending_dns_records"].append(
        {
            "is_active": True,
            "name": "x",
            "record_purpose": "DMARC",
            "record_type": "SRV",
            "valid": "u",
            "value": "v",
        }
    )
    async with loopback.client() as monite:
        (listed,) = await monite.mailbox_domains.list()
    assert isinstance(listed.dns_records, DNSRecords)  # the typed model, not the untyped fallback
    record = listed.dns_records.sending_dns_records[-1]
    assert isinstance(record.record_type, DNSRecordType)
    assert record.record_type.value == "SRV"
    assert isinstance(record.record_purpose, DNSRecordPurpose)
    assert record.record_purpose.value == "DMARC"
    assert not is_known(record.record_type)
    assert is_known(listed.dns_records.sending_dns_records[0].record_type)
    assert record.to_dict()["record_type"] == "SRV"  # round-trips


async def test_missing_required_field_names_the_field(loopback: LoopbackServer) -> None:
    domain_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    no_status = Reply(200, json={"id": domain_id, "domain": "mail.example.com"})
    loopback.script("POST", f"/mailbox_domains/{domain_id}/verify", no_status)
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError) as info:
            await monite.mailbox_domains.verify(domain_id)
    assert "lacks the required field 'status'" in info.value.message
    assert info.value.operation == "post_mailbox_domains_id_verify"
    assert info.value.status_code == 200


async def test_non_json_success_body_is_an_unexpected_response(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", Reply(200, body=b"OK", headers={"content-type": "text/plain"}))
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError) as info:
            await monite.mailbox_domains.list()
    assert "body is not JSON (text/plain)" in info.value.message


async def test_malformed_value_is_an_unexpected_response(loopback: LoopbackServer) -> None:
    loopback.add_domain("mail.example.com", id="not-a-uuid")
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError) as info:
            await monite.mailbox_domains.list()
    assert "malformed value" in info.value.message
    assert "get_mailbox_domains" in info.value.message


async def test_create_answered_200_as_under_older_versions_still_parses(loopback: LoopbackServer) -> None:
    body = {"id": str(uuid.uuid4()), "domain": "mail.example.com", "status": "new", "dns_records": {}}
    loopback.script("POST", "/mailbox_domains", Reply(200, json=body))
    async with loopback.client() as monite:
        created = await monite.mailbox_domains.create("mail.example.com")
    assert str(created.id) == body["id"]


async def test_version_header_is_on_every_request_including_the_token_request(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client() as monite:
        created = await monite.mailbox_domains.create("mail.example.com")
        await monite.mailbox_domains.list()
        await monite.mailbox_domains.verify(created.id)
        await monite.mailbox_domains.delete(created.id)
        await monite.auth.revoke()
    paths = [(r.method, r.path) for r in loopback.requests]
    assert ("POST", "/v1/auth/token") in paths
    assert ("POST", "/v1/auth/revoke") in paths
    assert len(paths) == 6
    assert [r.headers.get("x-monite-version") for r in loopback.requests] == [API_VERSION] * 6


async def test_api_version_override_is_sent(loopback: LoopbackServer) -> None:
    async with loopback.client(api_version="2024-01-31") as monite:
        await monite.mailbox_domains.list()
    assert {r.headers["x-monite-version"] for r in loopback.requests} == {"2024-01-31"}


async def test_an_echoed_different_version_warns_exactly_once(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monite_async")
    loopback.echo_version = "2025-06-23"
    async with loopback.client() as monite:
        for _ in range(3):
            await monite.mailbox_domains.list()
    warnings = [r for r in caplog.records if r.name == "monite_async" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2025-06-23" in warnings[0].getMessage()
    assert API_VERSION in warnings[0].getMessage()


async def test_the_same_echoed_version_warns_never(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monite_async")
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()
    assert [r for r in caplog.records if r.name == "monite_async"] == []


async def test_no_secret_or_token_in_any_log_line_or_error(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: monite_async, httpx2, httpcore2, asyncio
    loopback.script("GET", "/mailbox_domains", error(500, "boom"), error(401, "expired"))
    raised: list[BaseException] = []
    async with loopback.client(retry_policy=INSTANT) as monite:
        await monite.mailbox_domains.list()  # token 1, 500 retried, 401 refreshed and replayed
        loopback.script("GET", "/mailbox_domains", error(401, "no"), error(401, "no"))
        for call in (monite.mailbox_domains.list(), monite.mailbox_domains.delete(uuid.uuid4())):
            try:
                await call
            except MoniteError as exc:
                raised.append(exc)
        await monite.auth.revoke()
        client_text = repr(monite) + str(monite) + repr(monite.auth) + repr(monite.mailbox_domains)
    tokens = [r.json()["token"] for r in loopback.recorded("POST", "/auth/revoke")]
    issued = {r.headers["authorization"][7:] for r in loopback.requests if "authorization" in r.headers}
    assert len(issued) >= 2
    secrets = {CLIENT_SECRET, *issued, *tokens}
    assert len(caplog.records) > 10
    assert len(raised) == 2
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(vars(record))
        for secret in secrets:
            assert secret not in text, f"{secret[:8]}... leaked by {record.name}: {record.getMessage()[:80]}"
    for exc in raised:
        for secret in secrets:
            assert secret not in str(exc) + repr(exc) + exc.__class__.__name__
    for secret in secrets:
        assert secret not in client_text


def test_error_str_and_repr_carry_no_body_or_headers() -> None:
    exc = MoniteAPIError("Nope", status_code=418, request_id="r-1", body=b'{"token": "abc-secret-abc"}')
    assert "abc-secret-abc" not in str(exc)
    assert "abc-secret-abc" not in repr(exc)
    assert str(exc) == "Nope (HTTP 418, request id r-1)"


async def test_fastapi_detail_string_is_the_message(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", Reply(405, json={"detail": "Method Not Allowed"}))
    async with loopback.client() as monite:
        with pytest.raises(MoniteAPIError) as info:
            await monite.mailbox_domains.list()
    assert type(info.value) is MoniteAPIError
    assert info.value.message == "Method Not Allowed"
    assert info.value.status_code == 405


async def test_an_error_body_echoing_a_token_is_redacted(loopback: LoopbackServer) -> None:
    def echo(request: Recorded) -> Reply:
        return error(400, f"bad request with {request.headers['authorization']}")

    loopback.script("GET", "/mailbox_domains", echo)
    async with loopback.client() as monite:
        with pytest.raises(MoniteAPIError) as info:
            await monite.mailbox_domains.list()
    (token,) = loopback.valid_tokens
    assert token not in info.value.message
    assert token.encode() not in info.value.content
    assert info.value.message == "bad request with Bearer [redacted]"


# --------------------------------------------------------------------------------
# Errors built from httpx2's exceptions must carry no chain at all (`from None`
# still leaves __context__, and httpx2's exceptions hold the request with its headers).


async def test_a_connection_error_after_retries_has_no_context(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(drop=True)] * 3)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        with pytest.raises(MoniteConnectionError) as info:
            await monite.mailbox_domains.list()
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


async def test_a_timeout_error_after_retries_has_no_context(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(delay=30)] * 2)
    async with loopback.client(timeout=0.2, max_retries=1, retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        with pytest.raises(MoniteTimeoutError) as info:
            await monite.mailbox_domains.list()
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


# --------------------------------------------------------------------------------
# A token endpoint's success body, or any body naming a secret by its JSON
# key, must never end up on an error (the new token is not yet known to the redactor).


FRESH = "FRESH-TOKEN-XYZ"


def everything_said(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
    return " ".join(parts)


async def test_a_token_answer_the_parser_rejects_never_carries_the_token(loopback: LoopbackServer) -> None:
    # 200, but without token_type: the generated parser raises KeyError.
    loopback.script("POST", "/auth/token", Reply(200, json={"access_token": FRESH, "expires_in": 3600}))
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError) as info:
            await monite.mailbox_domains.list()
    error = info.value
    assert error.content == b""
    assert error.operation == "post_auth_token"
    assert "token_type" in error.message  # names the problem...
    assert FRESH not in everything_said(error)  # ...never the value
    assert loopback.count("GET", "/mailbox_domains") == 0
    # Nor in its traceback's locals, as error trackers record them (the parser's frames held the body).
    inside = error.__traceback__.tb_next if error.__traceback__ else None  # past this test's frame
    recorded = "".join(traceback.TracebackException(type(error), error, inside, capture_locals=True).format())
    assert FRESH not in recorded


async def test_a_token_answer_with_a_malformed_value_never_quotes_it(loopback: LoopbackServer) -> None:
    # Not a JSON object at all: the parser fails with a detail that could quote the body.
    loopback.script("POST", "/auth/token", Reply(200, json=[FRESH, 3600]))
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError) as info:
            await monite.mailbox_domains.list()
    assert info.value.content == b""
    assert FRESH not in everything_said(info.value)


async def test_secret_json_keys_are_blanked_in_any_error_body_even_when_escaped(
    loopback: LoopbackServer,
) -> None:
    # JSON escapes hide a value from byte-for-byte redaction; blank the known keys instead.
    body = (
        b'{"error": {"message": "upstream failed"}, "access_token": "FRESH\\u002dTOKEN\\u002dXYZ",'
        b' "client_secret": "sec\\"ret", "token": "abc"}'
    )
    loopback.script(
        "GET", "/mailbox_domains", Reply(500, body=body, headers={"content-type": "application/json"})
    )
    async with loopback.client(max_retries=0, retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        with pytest.raises(ServerError) as info:
            await monite.mailbox_domains.list()
    payload = json.loads(info.value.content)
    assert payload == {
        "error": {"message": "upstream failed"},
        "access_token": "[redacted]",
        "client_secret": "[redacted]",
        "token": "[redacted]",
    }
    assert info.value.message == "upstream failed"
    assert CLIENT_SECRET.encode() not in info.value.content
