"""monite_async: an async-first SDK for Monite's mailbox domains API.

    from monite_async import MoniteClient, dns_records

    async with MoniteClient(client_id=..., client_secret=...) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")
        for record in dns_records(domain).sending_dns_records:  # typed DNSRecord objects
            print(record.record_type.value, record.name, record.value)
        domains = await monite.mailbox_domains.list()
        result = await monite.mailbox_domains.verify(domain.id)
        await monite.mailbox_domains.delete(domain.id)

Tokens are fetched and refreshed for you, `x-monite-version` is pinned, transient failures
are retried, and every failure is a `MoniteError`. Optional fields of the models are
`X | Unset` (`UNSET` when Monite left them out); both are importable from here, so user code
never needs `monite_generated`.
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
from monite_generated.types import UNSET, Unset, is_known

from ._client import MoniteClient, MoniteSyncClient
from ._defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConfigurationError,
    ConflictError,
    DNSLookupError,
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
    VerificationTimeoutError,
)
from ._flow.options import NOT_GIVEN, NotGiven
from ._flow.versioning import API_VERSION
from ._http.rate import RateLimit
from ._http.retry import RetryPolicy
from ._http.transports import aiohttp_transport
from ._http.waits import is_testing, set_testing
from ._observability.logging import install_from_environment as _install_logging_from_environment
from ._version import __version__
from .resources.dns_records import FreeFormDNSRecords, dns_records
from .resources.raw import RawResponse

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "UNSET",
    "AccessTokenResponse",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "DNSLookupError",
    "DNSRecord",
    "DNSRecordPurpose",
    "DNSRecordType",
    "DNSRecords",
    "DomainListResponse",
    "DomainResponse",
    "FieldError",
    "FreeFormDNSRecords",
    "InvalidRequestError",
    "MessageResponse",
    "MoniteAPIError",
    "MoniteClient",
    "MoniteConnectionError",
    "MoniteError",
    "MoniteSyncClient",
    "MoniteTimeoutError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "RetryPolicy",
    "ServerError",
    "UnexpectedResponseError",
    "Unset",
    "ValidationError",
    "VerificationTimeoutError",
    "VerifyResponse",
    "__version__",
    "aiohttp_transport",
    "dns_records",
    "is_known",
    "is_testing",
    "set_testing",
]

_install_logging_from_environment()  # MONITE_LOG=debug|info|warning; unset: nothing
