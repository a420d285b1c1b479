from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DNSRecords")


@_attrs_define
class DNSRecords:
    """DNS records for sending and receiving.

    Attributes:
        receiving_dns_records (list[DNSRecord]): Records needed before mail can be received on the domain.
        sending_dns_records (list[DNSRecord]): Records needed before mail can be sent from the domain.
    """

    receiving_dns_records: list[DNSRecord]
    sending_dns_records: list[DNSRecord]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        receiving_dns_records = []
        for receiving_dns_records_item_data in self.receiving_dns_records:
            receiving_dns_records_item = receiving_dns_records_item_data.to_dict()
            receiving_dns_records.append(receiving_dns_records_item)

        sending_dns_records = []
        for sending_dns_records_item_data in self.sending_dns_records:
            sending_dns_records_item = sending_dns_records_item_data.to_dict()
            sending_dns_records.append(sending_dns_records_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "receiving_dns_records": receiving_dns_records,
                "sending_dns_records": sending_dns_records,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        receiving_dns_records = []
        _receiving_dns_records = d.pop("receiving_dns_records")
        for receiving_dns_records_item_data in _receiving_dns_records:
            receiving_dns_records_item = DNSRecord.from_dict(receiving_dns_records_item_data)

            receiving_dns_records.append(receiving_dns_records_item)

        sending_dns_records = []
        _sending_dns_records = d.pop("sending_dns_records")
        for sending_dns_records_item_data in _sending_dns_records:
            sending_dns_records_item = DNSRecord.from_dict(sending_dns_records_item_data)

            sending_dns_records.append(sending_dns_records_item)

        dns_records = cls(
            receiving_dns_records=receiving_dns_records,
            sending_dns_records=sending_dns_records,
        )

        dns_records.additional_properties = d
        return dns_records

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
from ..models.dns_record import DNSRecord
