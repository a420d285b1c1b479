from enum import StrEnum

from ..types import lenient_member


class DNSRecordType(StrEnum):
    CNAME = "CNAME"
    MX = "MX"
    TXT = "TXT"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "DNSRecordType | None":
        return lenient_member(cls, value)
