"""Contains all the data models used in inputs/outputs"""

from .access_token_response import AccessTokenResponse
from .dns_record import DNSRecord
from .dns_record_purpose import DNSRecordPurpose
from .dns_record_type import DNSRecordType
from .dns_records import DNSRecords
from .domain_list_response import DomainListResponse
from .domain_request import DomainRequest
from .domain_response import DomainResponse
from .domain_response_dns_records_type_1 import DomainResponseDnsRecordsType1
from .error_schema import ErrorSchema
from .error_schema_response import ErrorSchemaResponse
from .grant_type import GrantType
from .http_validation_error import HTTPValidationError
from .message_response import MessageResponse
from .obtain_token_payload import ObtainTokenPayload
from .revoke_token_payload import RevokeTokenPayload
from .validation_error import ValidationError
from .verify_response import VerifyResponse

__all__ = (
    "AccessTokenResponse",
    "DNSRecord",
    "DNSRecordPurpose",
    "DNSRecords",
    "DNSRecordType",
    "DomainListResponse",
    "DomainRequest",
    "DomainResponse",
    "DomainResponseDnsRecordsType1",
    "ErrorSchema",
    "ErrorSchemaResponse",
    "GrantType",
    "HTTPValidationError",
    "MessageResponse",
    "ObtainTokenPayload",
    "RevokeTokenPayload",
    "ValidationError",
    "VerifyResponse",
)
