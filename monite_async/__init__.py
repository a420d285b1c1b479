"""monite_async: an async-first SDK for Monite's mailbox domains API.

    from monite_async import MoniteClient

    async with MoniteClient(client_id=..., client_secret=...) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")
        domains = await monite.mailbox_domains.list()
        result = await monite.mailbox_domains.verify(domain.id)
        await monite.mailbox_domains.delete(domain.id)

Tokens are fetched and refreshed for you, `x-monite-version` is pinned, transient failures
are retried, and every failure is a `MoniteError`.
"""

from monite_generated.models import (
    AccessTokenResponse,
    DNSRecord,
    DNSRecordPurpose,
    DNSRecords,
    DNSRecordType,
    DomainListResponse,
    DomainResponse,
    MessageResponse,
    VerifyResponse,
)

from ._backends import aiohttp_transport
from ._client import DEFAULT_BASE_URL, DEFAULT_LIMITS, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, MoniteClient
from ._enums import is_known
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConfigurationError,
    ConflictError,
    FieldError,
    InvalidRequestError,
    MoniteAPIError,
    MoniteConnectionError,
    MoniteError,
    MoniteTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from ._retry import RetryPolicy, is_testing, set_testing
from ._version import __version__
from ._versioning import API_VERSION

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AccessTokenResponse",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "DNSRecord",
    "DNSRecordPurpose",
    "DNSRecordType",
    "DNSRecords",
    "DomainListResponse",
    "DomainResponse",
    "FieldError",
    "InvalidRequestError",
    "MessageResponse",
    "MoniteAPIError",
    "MoniteClient",
    "MoniteConnectionError",
    "MoniteError",
    "MoniteTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "UnexpectedResponseError",
    "ValidationError",
    "VerifyResponse",
    "__version__",
    "aiohttp_transport",
    "is_known",
    "is_testing",
    "set_testing",
]
