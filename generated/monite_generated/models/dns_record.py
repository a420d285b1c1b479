from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dns_record_purpose import DNSRecordPurpose
from ..models.dns_record_type import DNSRecordType
from ..types import UNSET, Unset

T = TypeVar("T", bound="DNSRecord")


@_attrs_define
class DNSRecord:
    """One DNS record to publish for a mailbox domain.

    Attributes:
        is_active (bool): Whether the record is in use.
        record_type (DNSRecordType): DNS record type.
        valid (str): Whether the mail provider has seen the record yet, such as `unknown` or `valid`.
        value (str): Record content to publish.
        name (str | Unset): Host name the record is published under.
        record_purpose (DNSRecordPurpose | Unset): Purpose of a TXT record.
    """

    is_active: bool
    record_type: DNSRecordType
    valid: str
    value: str
    name: str | Unset = UNSET
    record_purpose: DNSRecordPurpose | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        is_active = self.is_active

        record_type = self.record_type.value

        valid = self.valid

        value = self.value

        name = self.name

        record_purpose: str | Unset = UNSET
        if not isinstance(self.record_purpose, Unset):
            record_purpose = self.record_purpose.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "is_active": is_active,
                "record_type": record_type,
                "valid": valid,
                "value": value,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if record_purpose is not UNSET:
            field_dict["record_purpose"] = record_purpose

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        is_active = d.pop("is_active")

        record_type = DNSRecordType(d.pop("record_type"))

        valid = d.pop("valid")

        value = d.pop("value")

        name = d.pop("name", UNSET)

        _record_purpose = d.pop("record_purpose", UNSET)
        record_purpose: DNSRecordPurpose | Unset
        if isinstance(_record_purpose, Unset):
            record_purpose = UNSET
        else:
            record_purpose = DNSRecordPurpose(_record_purpose)

        dns_record = cls(
            is_active=is_active,
            record_type=record_type,
            valid=valid,
            value=value,
            name=name,
            record_purpose=record_purpose,
        )

        dns_record.additional_properties = d
        return dns_record

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
