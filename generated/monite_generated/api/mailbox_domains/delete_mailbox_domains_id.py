from http import HTTPStatus
from typing import Any, Final, cast
from urllib.parse import quote
from uuid import UUID

import httpx2 as httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_schema_response import ErrorSchemaResponse
from ...models.http_validation_error import HTTPValidationError
from ...types import Response

OPERATION_ID: Final = "delete_mailbox_domains_id"
"""The operation this module calls; its literal type tells the module apart from every other."""
PATH: Final = "/mailbox_domains/{domain_id}"
REQUIRES_AUTH: Final = True


def _get_kwargs(
    domain_id: UUID,
    *,
    x_monite_version: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["x-monite-version"] = x_monite_version

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/mailbox_domains/{domain_id}".format(
            domain_id=quote(str(domain_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorSchemaResponse | HTTPValidationError | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 401:
        response_401 = ErrorSchemaResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorSchemaResponse.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorSchemaResponse.from_dict(response.json())

        return response_404

    if response.status_code == 405:
        response_405 = ErrorSchemaResponse.from_dict(response.json())

        return response_405

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorSchemaResponse.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorSchemaResponse.from_dict(response.json())

        return response_500

    if 200 <= response.status_code < 300:
        response_204 = cast(Any, None)
        return response_204

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | ErrorSchemaResponse | HTTPValidationError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> Response[Any | ErrorSchemaResponse | HTTPValidationError]:
    """Remove a mailbox domain

     Deletes one mailbox domain of the calling partner.

    Args:
        domain_id (UUID):
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorSchemaResponse | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        domain_id=domain_id,
        x_monite_version=x_monite_version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> Any | ErrorSchemaResponse | HTTPValidationError | None:
    """Remove a mailbox domain

     Deletes one mailbox domain of the calling partner.

    Args:
        domain_id (UUID):
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorSchemaResponse | HTTPValidationError
    """

    return sync_detailed(
        domain_id=domain_id,
        client=client,
        x_monite_version=x_monite_version,
    ).parsed


async def asyncio_detailed(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> Response[Any | ErrorSchemaResponse | HTTPValidationError]:
    """Remove a mailbox domain

     Deletes one mailbox domain of the calling partner.

    Args:
        domain_id (UUID):
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorSchemaResponse | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        domain_id=domain_id,
        x_monite_version=x_monite_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> Any | ErrorSchemaResponse | HTTPValidationError | None:
    """Remove a mailbox domain

     Deletes one mailbox domain of the calling partner.

    Args:
        domain_id (UUID):
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorSchemaResponse | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            domain_id=domain_id,
            client=client,
            x_monite_version=x_monite_version,
        )
    ).parsed
