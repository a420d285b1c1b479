"""Review nit: only Monite's documented stale-token wording ("revoked, expired or not
found") means "refresh the token"; a 403 about a token's scope is a permission error."""

from __future__ import annotations

import pytest
from loopback_server import LoopbackServer, error

from monite_async import PermissionDeniedError
from monite_async._auth import is_stale_token_response


async def test_a_403_token_invalid_for_this_scope_is_permission_denied_without_a_refresh(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()
        loopback.script("GET", "/mailbox_domains", error(403, "token invalid for this scope"))
        with pytest.raises(PermissionDeniedError) as info:
            await monite.mailbox_domains.list()
    assert type(info.value) is PermissionDeniedError
    assert info.value.status_code == 403
    assert info.value.message == "token invalid for this scope"
    assert loopback.count("POST", "/auth/token") == 1  # no refresh
    assert loopback.count("GET", "/mailbox_domains") == 2  # no replay


def test_only_the_documented_wording_is_stale() -> None:
    body = b'{"error": {"message": "%s"}}'
    assert is_stale_token_response(400, body % b"The token has been revoked, expired or not found.")
    assert is_stale_token_response(403, body % b"Token expired")
    assert not is_stale_token_response(403, body % b"token invalid for this scope")
    assert not is_stale_token_response(400, body % b"invalid token format for entity")
