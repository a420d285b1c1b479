"""Entity scope: `entity_id=` on a client or a view sends `x-monite-entity-id` on the operations
whose spec declares that header, and on no other; an entity-scoped call without one is an
InvalidRequestError before anything is built. (End to end, on a regenerated copy with
Monite's `/mailboxes`: tests/project/test_new_operation.py.)"""

from __future__ import annotations

import asyncio
import types
import uuid
from typing import Any

import httpx2
import pytest
from monite_generated.api.mailbox_domains import get_mailbox_domains

from monite_async import ConfigurationError, InvalidRequestError, MoniteClient, MoniteSyncClient
from monite_async._flow.failures import Redactor
from monite_async._flow.options import CallOptions
from monite_async._flow.request import Target, build

ENTITY = "9d2b4c8f-2087-4738-ba91-7359683c49a4"
OPTIONS = CallOptions(timeout=httpx2.Timeout(5.0), max_retries=0, deadline=10.0, api_version="2024-05-25")


def _scoped_module() -> types.ModuleType:
    """An operation shaped as the generator writes an entity-scoped one (`get_mailboxes`)."""
    module = types.ModuleType("monite_generated.api.mailboxes.get_mailboxes")

    def _get_kwargs(*, x_monite_version: str, x_monite_entity_id: uuid.UUID) -> dict[str, Any]:
        headers = {"x-monite-version": x_monite_version, "x-monite-entity-id": str(x_monite_entity_id)}
        return {"method": "get", "url": "/mailboxes", "headers": headers}

    module._get_kwargs = _get_kwargs  # type: ignore[attr-defined]
    module._parse_response = lambda *, client, response: None  # type: ignore[attr-defined]
    return module


def _build(module: types.ModuleType, options: CallOptions, **kwargs: Any) -> httpx2.Request:
    target = Target("http://monite.test/v1", headers={})
    name = module.__name__.rpartition(".")[2]
    return build(target, module, name, ((), kwargs), options, Redactor(list))


def test_an_entity_scoped_operation_carries_the_clients_entity() -> None:
    request = _build(_scoped_module(), OPTIONS.replace(entity_id=uuid.UUID(ENTITY)))
    assert request.headers["x-monite-entity-id"] == ENTITY


def test_an_argument_of_the_call_wins_over_the_clients_entity() -> None:
    other = "00000000-0000-4000-8000-000000000001"
    request = _build(_scoped_module(), OPTIONS.replace(entity_id=ENTITY), x_monite_entity_id=other)
    assert request.headers["x-monite-entity-id"] == other


def test_an_entity_scoped_call_without_an_entity_is_refused_before_building() -> None:
    with pytest.raises(
        InvalidRequestError, match=r"get_mailboxes acts for an entity: give the client entity_id="
    ):
        _build(_scoped_module(), OPTIONS)


def test_an_operation_that_does_not_declare_the_header_never_gets_it() -> None:
    request = _build(get_mailbox_domains, OPTIONS.replace(entity_id=ENTITY))
    assert "x-monite-entity-id" not in request.headers


@pytest.mark.parametrize("client_class", [MoniteClient, MoniteSyncClient])
def test_entity_id_on_the_client_and_its_views(
    client_class: type[MoniteClient] | type[MoniteSyncClient],
) -> None:
    client = client_class(token="t", base_url="http://monite.test/v1", entity_id=uuid.UUID(ENTITY))
    try:
        _check_views(client)
    finally:
        asyncio.run(client.aclose()) if isinstance(client, MoniteClient) else client.close()
    with pytest.raises(ConfigurationError, match="entity_id must be a UUID"):
        client_class(token="t", entity_id=42)  # type: ignore[arg-type]


def _check_views(client: MoniteClient | MoniteSyncClient) -> None:
    assert client.entity_id == ENTITY
    assert f"entity_id={ENTITY!r}" in repr(client)
    other = "00000000-0000-4000-8000-000000000002"
    assert client.with_options(entity_id=other).entity_id == other
    assert client.with_options(entity_id=None).entity_id is None
    assert client.with_options(timeout=3).entity_id == ENTITY
    with pytest.raises(ConfigurationError, match="entity_id must be a UUID"):
        client.with_options(entity_id="acme")
    with pytest.raises(ConfigurationError, match="the entity with entity_id="):
        client.with_options(headers={"X-Monite-Entity-Id": ENTITY})
