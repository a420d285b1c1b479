"""Review finding: a token endpoint's success body, or any body naming a secret by its JSON
key, must never end up on an error (the new token is not yet known to the redactor)."""

from __future__ import annotations

import json

import pytest
from loopback_server import CLIENT_SECRET, LoopbackServer, Reply

from monite_async import RetryPolicy, ServerError, UnexpectedResponseError

FRESH = "FRESH-TOKEN-XYZ"


async def no_wait(seconds: float) -> None:
    return None


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
    assert error.body == b""
    assert error.operation == "post_auth_token"
    assert "token_type" in error.message  # names the problem...
    assert FRESH not in everything_said(error)  # ...never the value
    assert loopback.count("GET", "/mailbox_domains") == 0


async def test_a_token_answer_with_a_malformed_value_never_quotes_it(loopback: LoopbackServer) -> None:
    # Not a JSON object at all: the parser fails with a detail that could quote the body.
    loopback.script("POST", "/auth/token", Reply(200, json=[FRESH, 3600]))
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError) as info:
            await monite.mailbox_domains.list()
    assert info.value.body == b""
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
    payload = json.loads(info.value.body)
    assert payload == {
        "error": {"message": "upstream failed"},
        "access_token": "[redacted]",
        "client_secret": "[redacted]",
        "token": "[redacted]",
    }
    assert info.value.message == "upstream failed"
    assert CLIENT_SECRET.encode() not in info.value.body
