from enum import StrEnum

from ..types import lenient_member


class DNSRecordPurpose(StrEnum):
    DKIM = "DKIM"
    SPF = "SPF"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "DNSRecordPurpose | None":
        return lenient_member(cls, value)
