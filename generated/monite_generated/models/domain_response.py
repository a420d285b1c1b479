from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DomainResponse")


@_attrs_define
class DomainResponse:
    """A mailbox domain.

    Attributes:
        id (UUID): ID of the mailbox domain.
        dns_records (DNSRecords | DomainResponseDnsRecordsType1):
        domain (str): The registered host name.
        status (str): Verification state, such as `waiting_to_be_verified`. New values may appear.
        dedicated_ip (str | Unset): IP address reserved for this domain's outgoing mail.
        last_updated_at (datetime.datetime | Unset): When the domain last changed.
    """

    id: UUID
    dns_records: DNSRecords | DomainResponseDnsRecordsType1
    domain: str
    status: str
    dedicated_ip: str | Unset = UNSET
    last_updated_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        dns_records: dict[str, Any]
        if isinstance(self.dns_records, DNSRecords):
            dns_records = self.dns_records.to_dict()
        else:
            dns_records = self.dns_records.to_dict()

        domain = self.domain

        status = self.status

        dedicated_ip = self.dedicated_ip

        last_updated_at: str | Unset = UNSET
        if not isinstance(self.last_updated_at, Unset):
            last_updated_at = self.last_updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "dns_records": dns_records,
                "domain": domain,
                "status": status,
            }
        )
        if dedicated_ip is not UNSET:
            field_dict["dedicated_ip"] = dedicated_ip
        if last_updated_at is not UNSET:
            field_dict["last_updated_at"] = last_updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        def _parse_dns_records(data: object) -> DNSRecords | DomainResponseDnsRecordsType1:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                dns_records_type_0 = DNSRecords.from_dict(data)

                return dns_records_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            dns_records_type_1 = DomainResponseDnsRecordsType1.from_dict(data)

            return dns_records_type_1

        dns_records = _parse_dns_records(d.pop("dns_records"))

        domain = d.pop("domain")

        status = d.pop("status")

        dedicated_ip = d.pop("dedicated_ip", UNSET)

        _last_updated_at = d.pop("last_updated_at", UNSET)
        last_updated_at: datetime.datetime | Unset
        if isinstance(_last_updated_at, Unset):
            last_updated_at = UNSET
        else:
            last_updated_at = datetime.datetime.fromisoformat(_last_updated_at)

        domain_response = cls(
            id=id,
            dns_records=dns_records,
            domain=domain,
            status=status,
            dedicated_ip=dedicated_ip,
            last_updated_at=last_updated_at,
        )

        domain_response.additional_properties = d
        return domain_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties


# The models this one holds, imported after its class (see the template's header).
from ..models.dns_records import DNSRecords
from ..models.domain_response_dns_records_type_1 import DomainResponseDnsRecordsType1
