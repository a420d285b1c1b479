"""`monite.auth`: what a user may do with the client's own token (`POST /auth/revoke`).
Fetching tokens is the flow's own work (`_flow.call.Flow._fetch`)."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from monite_generated.api.access_tokens import post_auth_revoke
from monite_generated.models import RevokeTokenPayload

from .._auth.tokens import CredentialsCache
from .._errors import ConfigurationError
from .._flow.call import Flow
from .._flow.drive import AsyncIO, BlockingIO, drive, drive_blocking
from .._flow.options import CallOptions
from .._flow.steps import Step

__all__ = ["AuthResource", "SyncAuthResource"]


class _Revoke:
    """What `monite.auth.revoke()` does, for both clients."""

    _flow: Flow
    _options: CallOptions

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _revoke(self) -> Generator[Step, Any, bool]:
        tokens, credentials = self._flow.tokens, self._flow.credentials
        if not isinstance(tokens, CredentialsCache) or credentials is None:
            raise ConfigurationError("auth.revoke() needs client_id and client_secret")
        token = tokens.cached
        if token is None:
            return False
        client_id, secret = credentials
        body = RevokeTokenPayload(client_id=client_id, client_secret=secret, token=token.value)
        budget = time.monotonic() + self._options.deadline
        yield from self._flow.call(self._options, post_auth_revoke, kwargs={"body": body}, budget_at=budget)
        tokens.forget(token)
        return True


class AuthResource(_Revoke):
    """`monite.auth`: what a user may do with the client's own token.

    revoked = await monite.auth.revoke()  # True if a cached token was revoked
    """

    def _bind(self, flow: Flow, options: CallOptions, io: AsyncIO) -> None:
        self._flow, self._options = flow, options
        self._io = io

    async def revoke(self) -> bool:
        """Revoke the cached partner token (`POST /auth/revoke`) and forget it.

        Returns False, sending nothing, when no token is cached. The next call fetches a new
        token. Needs client credentials (a token given by the application is its own to revoke).
        """
        return await drive(self._revoke(), self._io)


class SyncAuthResource(_Revoke):
    """`monite.auth` of the blocking client: `monite.auth.revoke()` as in `AuthResource`."""

    def _bind(self, flow: Flow, options: CallOptions, io: BlockingIO) -> None:
        self._flow, self._options = flow, options
        self._io = io

    def revoke(self) -> bool:
        """`AuthResource.revoke`, blocking."""
        return drive_blocking(self._revoke(), self._io)
