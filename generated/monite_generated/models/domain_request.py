from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DomainRequest")


@_attrs_define
class DomainRequest:
    """A domain to register.

    Attributes:
        domain (str): Host name such as `mail.example.com`: letters, digits, dots and hyphens; each label starts and
            ends with a letter or digit.
    """

    domain: str

    def to_dict(self) -> dict[str, Any]:
        domain = self.domain

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "domain": domain,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        domain = d.pop("domain")

        domain_request = cls(
            domain=domain,
        )

        return domain_request
