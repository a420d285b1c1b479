from enum import StrEnum


class GrantType(StrEnum):
    CLIENT_CREDENTIALS = "client_credentials"
    ENTITY_USER = "entity_user"

    def __str__(self) -> str:
        return str(self.value)
