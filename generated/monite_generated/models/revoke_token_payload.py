from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

T = TypeVar("T", bound="RevokeTokenPayload")


@_attrs_define
class RevokeTokenPayload:
    """A token to revoke, with the credentials it was issued to.

    Attributes:
        client_id (UUID):
        client_secret (str):
        token (str):
    """

    client_id: UUID
    client_secret: str
    token: str

    def to_dict(self) -> dict[str, Any]:
        client_id = str(self.client_id)

        client_secret = self.client_secret

        token = self.token

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "token": token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = UUID(d.pop("client_id"))

        client_secret = d.pop("client_secret")

        token = d.pop("token")

        revoke_token_payload = cls(
            client_id=client_id,
            client_secret=client_secret,
            token=token,
        )

        return revoke_token_payload
