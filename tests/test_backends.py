"""The opt-in aiohttp backend. Its behaviour under the facade is proven by running every
socket test on it too (the `loopback` fixture is parametrized over both transports)."""

from __future__ import annotations

import sys

import httpx
import pytest

from monite_async import AuthenticationError, ConfigurationError, MoniteClient, aiohttp_transport


def test_without_the_fast_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # what an absent package looks like
    expected = r"the 'fast' extra: pip install '\.\[fast\]' from a checkout of monite_async$"
    with pytest.raises(ConfigurationError, match=expected):
        aiohttp_transport()


async def test_the_transport_takes_its_pool_limits_and_its_session_closes_with_the_client(
    fake_monite_server: str,
) -> None:
    transport = aiohttp_transport(limits=httpx.Limits(max_connections=7))
    assert transport.limits.max_connections == 7  # type: ignore[attr-defined]
    async with MoniteClient(token="t", base_url=fake_monite_server, transport=transport) as monite:
        with pytest.raises(AuthenticationError):  # the fake never issued "t"
            await monite.mailbox_domains.list()
        session = transport.client  # type: ignore[attr-defined]
        assert not session.closed
    assert session.closed
