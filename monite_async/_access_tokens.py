"""The two access-token operations, as `api/access_tokens` has them: fetch (`post_auth_token`,
used by the auth flow) and revoke (`post_auth_revoke`, as `monite.auth.revoke()`)."""

from __future__ import annotations

import math
import uuid
from typing import Any

from monite_generated.api.access_tokens import post_auth_revoke, post_auth_token
from monite_generated.models import AccessTokenResponse, GrantType, ObtainTokenPayload, RevokeTokenPayload

from . import _error_mapping as errors
from ._answers import token_lifetime
from ._auth import IssuedToken, SyncTokenProvider, TokenProvider, is_valid_token
from ._auth import _CredentialsCache as CredentialsCache
from ._drive import drive, drive_blocking
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    MoniteError,
    PermissionDeniedError,
    UnexpectedResponseError,
    ValidationError,
)
from ._pipeline import Call, Carrier, ResourceFlow, SyncCarrier, own_budget
from ._secret import SecretStr

__all__ = ["AuthResource", "SyncAuthResource", "SyncTokenFetcher", "TokenFetcher"]


class _TokenRequest:
    """`POST /auth/token` with the client-credentials grant; bad credentials raise at once."""

    def __init__(self, *, client_id: uuid.UUID, client_secret: str) -> None:
        self._client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    def _flow(self) -> ResourceFlow[IssuedToken]:
        body = ObtainTokenPayload(
            client_id=self._client_id,
            client_secret=self._client_secret,
            grant_type=GrantType.CLIENT_CREDENTIALS,
        )
        failure: MoniteError | None = None
        try:
            outcome = yield Call(post_auth_token, kwargs={"body": body})
        except (AuthenticationError, BadRequestError, PermissionDeniedError, ValidationError) as exc:
            # A refusal of the token request itself means bad credentials: retrying or
            # refreshing cannot help, so it ends here (the pipeline already redacted the body).
            failure = errors.credentials_refused(exc)
        except UnexpectedResponseError as exc:
            if not 200 <= exc.status_code < 300:
                raise
            # A success the parser rejected: its body holds a token nobody knows to redact
            # yet. Name the problem (the pipeline's text quotes no value here), never the body.
            failure = errors.without_body(exc)
        if failure is not None:
            raise failure  # outside the except block: nothing chained, no body in any context
        problem = _token_answer_problem(outcome.parsed)
        if problem is not None:
            # Raised from a frame that holds no parsed answer: a traceback's recorded locals
            # (error trackers keep them) never show a token, not even a malformed one.
            response = outcome.response
            del outcome
            raise errors.bad_token_answer(response, problem)
        parsed: AccessTokenResponse = outcome.parsed
        return IssuedToken(SecretStr(parsed.access_token), float(token_lifetime(parsed.expires_in)))


class TokenFetcher(_TokenRequest):
    """The async client's token request (run through its pipeline by `carry_out`), under the
    client's own options, not the budget of the call that needed the token: the caller's
    cancel scope is what bounds that caller's wait."""

    def __init__(self, carry_out: Carrier, *, client_id: uuid.UUID, client_secret: str) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret)
        self._carry_out = carry_out

    async def __call__(self, deadline_at: float = math.inf) -> IssuedToken:
        with own_budget(deadline_at):
            return await drive(self._flow(), self._carry_out)


class SyncTokenFetcher(_TokenRequest):
    """The blocking client's token request, under the client's own options; `deadline_at`
    (the fetching thread's own deadline: a thread cannot be cancelled) shrinks its attempts."""

    def __init__(self, carry_out: SyncCarrier, *, client_id: uuid.UUID, client_secret: str) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret)
        self._carry_out = carry_out

    def __call__(self, deadline_at: float = math.inf) -> IssuedToken:
        with own_budget(deadline_at):
            return drive_blocking(self._flow(), self._carry_out)


def _token_answer_problem(parsed: object) -> str | None:
    """What makes a token answer unusable, in words that quote nothing of it; None: usable."""
    if not isinstance(parsed, AccessTokenResponse):
        return "the body is not an AccessTokenResponse"
    if not is_valid_token(parsed.access_token):
        return "access_token is empty or has characters a bearer token cannot have"
    lifetime = token_lifetime(parsed.expires_in)
    return lifetime if isinstance(lifetime, str) else None


class _Revoke:
    """What `monite.auth.revoke()` does, for both clients."""

    def __init__(
        self,
        provider: TokenProvider | SyncTokenProvider,
        *,
        client_id: uuid.UUID | None,
        client_secret: str | None,
    ) -> None:
        self._provider = provider
        self._client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _revoke(self) -> ResourceFlow[bool]:
        provider = self._provider
        if not isinstance(provider, CredentialsCache) or self._client_id is None or not self._client_secret:
            raise ConfigurationError("auth.revoke() needs client_id and client_secret")
        token = provider.cached
        if token is None:
            return False
        body = RevokeTokenPayload(
            client_id=self._client_id, client_secret=self._client_secret, token=token.value
        )
        yield Call(post_auth_revoke, kwargs={"body": body})
        provider.forget(token)
        return True


class AuthResource(_Revoke):
    """`monite.auth`: what a user may do with the client's own token.

    revoked = await monite.auth.revoke()  # True if a cached token was revoked
    """

    def __init__(self, carry_out: Carrier, provider: TokenProvider, **credentials: Any) -> None:
        super().__init__(provider, **credentials)
        self._carry_out = carry_out

    async def revoke(self) -> bool:
        """Revoke the cached partner token (`POST /auth/revoke`) and forget it.

        Returns False, sending nothing, when no token is cached. The next call fetches a new
        token. Needs client credentials (a token given by the application is its own to revoke).
        """
        return await drive(self._revoke(), self._carry_out)


class SyncAuthResource(_Revoke):
    """`monite.auth` of the blocking client: `monite.auth.revoke()` as in `AuthResource`."""

    def __init__(self, carry_out: SyncCarrier, provider: SyncTokenProvider, **credentials: Any) -> None:
        super().__init__(provider, **credentials)
        self._carry_out = carry_out

    def revoke(self) -> bool:
        """`AuthResource.revoke`, blocking."""
        return drive_blocking(self._revoke(), self._carry_out)
