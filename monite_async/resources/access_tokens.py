"""`monite.auth`: what a user may do with the client's own token (`POST /auth/revoke`).
Fetching tokens is the flow's own work (`_flow.call.Flow._fetch`)."""

from __future__ import annotations

from typing import Generic, TypeVar

from monite_generated.api.access_tokens import post_auth_revoke
from monite_generated.models import RevokeTokenPayload

from .._auth.tokens import CredentialsCache
from .._errors import ConfigurationError
from .._flow.call import Flow
from .._flow.drive import AsyncIO, BlockingIO, drive, drive_blocking
from .._flow.options import CallOptions
from ._base import Resource, ResourceFlow

__all__ = ["AuthResource", "SyncAuthResource"]

_IO = TypeVar("_IO", AsyncIO, BlockingIO)


class _Revoke(Resource, Generic[_IO]):
    """What `monite.auth.revoke()` does, for both clients."""

    def _bind(self, flow: Flow, options: CallOptions, io: _IO) -> None:
        self._flow, self._options = flow, options
        self._io: _IO = io

    def _revoke(self) -> ResourceFlow[bool]:
        tokens, credentials = self._flow.tokens, self._flow.credentials
        if not isinstance(tokens, CredentialsCache) or credentials is None:
            raise ConfigurationError("auth.revoke() needs client_id and client_secret")
        token = tokens.cached
        if token is None:
            return False
        body = RevokeTokenPayload(client_id=credentials[0], client_secret=credentials[1], token=token.value)
        # One request: its own deadline (options.deadline) is the method's.
        yield from self._flow.call(self._options, post_auth_revoke, kwargs={"body": body})
        tokens.forget(token)
        return True


class AuthResource(_Revoke[AsyncIO]):
    """`monite.auth`: what a user may do with the client's own token.

    revoked = await monite.auth.revoke()  # True if a cached token was revoked
    """

    async def revoke(self) -> bool:
        """Revoke the cached partner token (`POST /auth/revoke`) and forget it.

        Returns False, sending nothing, when no token is cached. The next call fetches a new
        token. Needs client credentials (a token given by the application is its own to revoke).
        """
        return await drive(self._revoke(), self._io)


class SyncAuthResource(_Revoke[BlockingIO]):
    """`monite.auth` of the blocking client: `monite.auth.revoke()` as in `AuthResource`."""

    def revoke(self) -> bool:
        """`AuthResource.revoke`, blocking."""
        return drive_blocking(self._revoke(), self._io)
