"""Review finding: `call()` raises only MoniteError subclasses for bad arguments, a
caller-supplied x_monite_version included, and sends nothing when it does."""

from __future__ import annotations

import types
from typing import Any

import pytest
from loopback_server import LoopbackServer
from monite_generated.api.mailbox_domains import get_mailbox_domains

from monite_async import InvalidRequestError


@pytest.mark.parametrize("version", ["2024-05-25é", "2024-13-01", "latest", "2024-05-25\r\nx-evil: 1", ""])
async def test_a_bad_x_monite_version_is_an_invalid_request(loopback: LoopbackServer, version: str) -> None:
    async with loopback.client() as monite:
        with pytest.raises(InvalidRequestError, match="x_monite_version"):
            await monite.call(get_mailbox_domains, x_monite_version=version)
    assert loopback.count() == 0


async def test_a_good_x_monite_version_is_sent(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        await monite.call(get_mailbox_domains, x_monite_version="2024-01-31")
    assert loopback.recorded("GET", "/mailbox_domains")[0].headers["x-monite-version"] == "2024-01-31"


def operation(kwargs: dict[str, Any]) -> types.ModuleType:
    """A module shaped like a generated operation (as a newly generated one would be)."""
    module = types.ModuleType("monite_generated.api.mailbox_domains.get_something_new")
    module._get_kwargs = lambda: dict(kwargs)  # type: ignore[attr-defined]
    module._parse_response = lambda *, client, response: None  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "get", "url": "/mailbox_domains", "headers": {"x-note": "naïve"}},
        {"method": "get", "url": "http://[::1/mailbox_domains"},
    ],
    ids=["non-ascii-header", "invalid-url"],
)
async def test_a_request_httpx_cannot_build_is_an_invalid_request(
    loopback: LoopbackServer, kwargs: dict[str, Any]
) -> None:
    async with loopback.client() as monite:
        with pytest.raises(InvalidRequestError, match="get_something_new"):
            await monite.call(operation(kwargs))
    assert loopback.count() == 0
