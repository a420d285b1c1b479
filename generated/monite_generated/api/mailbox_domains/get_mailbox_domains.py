from http import HTTPStatus
from typing import Any, Final

import httpx2 as httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.domain_list_response import DomainListResponse
from ...models.error_schema_response import ErrorSchemaResponse
from ...models.http_validation_error import HTTPValidationError
from ...types import Response

OPERATION_ID: Final = "get_mailbox_domains"
"""The operation this module calls; its literal type tells the module apart from every other."""
PATH: Final = "/mailbox_domains"
REQUIRES_AUTH: Final = True


def _get_kwargs(
    *,
    x_monite_version: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["x-monite-version"] = x_monite_version

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/mailbox_domains",
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DomainListResponse | ErrorSchemaResponse | HTTPValidationError | None:
    if response.status_code == 200:
        response_200 = DomainListResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorSchemaResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorSchemaResponse.from_dict(response.json())

        return response_403

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
        response_200 = DomainListResponse.from_dict(response.json())

        return response_200

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DomainListResponse | ErrorSchemaResponse | HTTPValidationError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> Response[DomainListResponse | ErrorSchemaResponse | HTTPValidationError]:
    """List mailbox domains

     Returns every mailbox domain of the calling partner, with the DNS records each one needs. The list
    is not paginated.

    Args:
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DomainListResponse | ErrorSchemaResponse | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        x_monite_version=x_monite_version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> DomainListResponse | ErrorSchemaResponse | HTTPValidationError | None:
    """List mailbox domains

     Returns every mailbox domain of the calling partner, with the DNS records each one needs. The list
    is not paginated.

    Args:
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DomainListResponse | ErrorSchemaResponse | HTTPValidationError
    """

    return sync_detailed(
        client=client,
        x_monite_version=x_monite_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> Response[DomainListResponse | ErrorSchemaResponse | HTTPValidationError]:
    """List mailbox domains

     Returns every mailbox domain of the calling partner, with the DNS records each one needs. The list
    is not paginated.

    Args:
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DomainListResponse | ErrorSchemaResponse | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        x_monite_version=x_monite_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    x_monite_version: str,
) -> DomainListResponse | ErrorSchemaResponse | HTTPValidationError | None:
    """List mailbox domains

     Returns every mailbox domain of the calling partner, with the DNS records each one needs. The list
    is not paginated.

    Args:
        x_monite_version (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DomainListResponse | ErrorSchemaResponse | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            client=client,
            x_monite_version=x_monite_version,
        )
    ).parsed
