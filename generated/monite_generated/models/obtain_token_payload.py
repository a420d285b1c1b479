from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..models.grant_type import GrantType
from ..types import UNSET, Unset

T = TypeVar("T", bound="ObtainTokenPayload")


@_attrs_define
class ObtainTokenPayload:
    """Credentials to exchange for a token.

    Attributes:
        client_id (UUID):
        client_secret (str):
        grant_type (GrantType): OAuth grant to use.
        entity_user_id (None | Unset | UUID): Only with the `entity_user` grant: the user to act as.
    """

    client_id: UUID
    client_secret: str
    grant_type: GrantType
    entity_user_id: None | Unset | UUID = UNSET

    def to_dict(self) -> dict[str, Any]:
        client_id = str(self.client_id)

        client_secret = self.client_secret

        grant_type = self.grant_type.value

        entity_user_id: None | str | Unset
        if isinstance(self.entity_user_id, Unset):
            entity_user_id = UNSET
        elif isinstance(self.entity_user_id, UUID):
            entity_user_id = str(self.entity_user_id)
        else:
            entity_user_id = self.entity_user_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "grant_type": grant_type,
            }
        )
        if entity_user_id is not UNSET:
            field_dict["entity_user_id"] = entity_user_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = UUID(d.pop("client_id"))

        client_secret = d.pop("client_secret")

        grant_type = GrantType(d.pop("grant_type"))

        def _parse_entity_user_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                entity_user_id_type_0 = UUID(data)

                return entity_user_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        entity_user_id = _parse_entity_user_id(d.pop("entity_user_id", UNSET))

        obtain_token_payload = cls(
            client_id=client_id,
            client_secret=client_secret,
            grant_type=grant_type,
            entity_user_id=entity_user_id,
        )

        return obtain_token_payload
