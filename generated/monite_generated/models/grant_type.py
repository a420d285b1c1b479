from enum import StrEnum

from ..types import lenient_member


class GrantType(StrEnum):
    CLIENT_CREDENTIALS = "client_credentials"
    ENTITY_USER = "entity_user"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "GrantType | None":
        return lenient_member(cls, value)
