from http import HTTPStatus
from typing import Any, Final

import httpx2 as httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.domain_request import DomainRequest
from ...models.domain_response import DomainResponse
from ...models.error_schema_response import ErrorSchemaResponse
from ...models.http_validation_error import HTTPValidationError
from ...types import Response

OPERATION_ID: Final = "post_mailbox_domains"
"""The operation this module calls; its literal type tells the module apart from every other."""
PATH: Final = "/mailbox_domains"
REQUIRES_AUTH: Final = True


def _get_kwargs(
    *,
    body: DomainRequest,
    x_monite_version: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["x-monite-version"] = x_monite_version

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/mailbox_domains",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DomainResponse | ErrorSchemaResponse | HTTPValidationError | None:
    if response.status_code == 201:
        response_201 = DomainResponse.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorSchemaResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorSchemaResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorSchemaResponse.from_dict(response.json())

        return response_403

    if response.status_code == 405:
        response_405 = ErrorSchemaResponse.from_dict(response.json())

        return response_405

    if response.status_code == 409:
        response_409 = ErrorSchemaResponse.from_dict(response.json())

        return response_409

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
        response_201 = DomainResponse.from_dict(response.json())

        return response_201

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DomainResponse | ErrorSchemaResponse | HTTPValidationError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: DomainRequest,
    x_monite_version: str,
) -> Response[DomainResponse | ErrorSchemaResponse | HTTPValidationError]:
    """Add a mailbox domain

     Registers a domain for the calling partner and returns the DNS records to publish. Not idempotent:
    repeating it for the same domain answers 409.

    Args:
        x_monite_version (str):
        body (DomainRequest): A domain to register.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DomainResponse | ErrorSchemaResponse | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        body=body,
        x_monite_version=x_monite_version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: DomainRequest,
    x_monite_version: str,
) -> DomainResponse | ErrorSchemaResponse | HTTPValidationError | None:
    """Add a mailbox domain

     Registers a domain for the calling partner and returns the DNS records to publish. Not idempotent:
    repeating it for the same domain answers 409.

    Args:
        x_monite_version (str):
        body (DomainRequest): A domain to register.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DomainResponse | ErrorSchemaResponse | HTTPValidationError
    """

    return sync_detailed(
        client=client,
        body=body,
        x_monite_version=x_monite_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: DomainRequest,
    x_monite_version: str,
) -> Response[DomainResponse | ErrorSchemaResponse | HTTPValidationError]:
    """Add a mailbox domain

     Registers a domain for the calling partner and returns the DNS records to publish. Not idempotent:
    repeating it for the same domain answers 409.

    Args:
        x_monite_version (str):
        body (DomainRequest): A domain to register.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DomainResponse | ErrorSchemaResponse | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        body=body,
        x_monite_version=x_monite_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: DomainRequest,
    x_monite_version: str,
) -> DomainResponse | ErrorSchemaResponse | HTTPValidationError | None:
    """Add a mailbox domain

     Registers a domain for the calling partner and returns the DNS records to publish. Not idempotent:
    repeating it for the same domain answers 409.

    Args:
        x_monite_version (str):
        body (DomainRequest): A domain to register.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DomainResponse | ErrorSchemaResponse | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_monite_version=x_monite_version,
        )
    ).parsed
