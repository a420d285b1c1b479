from http import HTTPStatus
from typing import Any, Final

import httpx2 as httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_schema_response import ErrorSchemaResponse
from ...models.http_validation_error import HTTPValidationError
from ...models.message_response import MessageResponse
from ...models.revoke_token_payload import RevokeTokenPayload
from ...types import Response

OPERATION_ID: Final = "post_auth_revoke"
"""The operation this module calls; its literal type tells the module apart from every other."""
PATH: Final = "/auth/revoke"
REQUIRES_AUTH: Final = True


def _get_kwargs(
    *,
    body: RevokeTokenPayload,
    x_monite_version: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["x-monite-version"] = x_monite_version

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/auth/revoke",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorSchemaResponse | HTTPValidationError | MessageResponse | None:
    if response.status_code == 200:
        response_200 = MessageResponse.from_dict(response.json())

        return response_200

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
        response_200 = MessageResponse.from_dict(response.json())

        return response_200

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorSchemaResponse | HTTPValidationError | MessageResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: RevokeTokenPayload,
    x_monite_version: str,
) -> Response[ErrorSchemaResponse | HTTPValidationError | MessageResponse]:
    """Revoke a token

     Invalidates a partner or entity-user token at once; later calls with it are refused.

    Args:
        x_monite_version (str):
        body (RevokeTokenPayload): A token to revoke, with the credentials it was issued to.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorSchemaResponse | HTTPValidationError | MessageResponse]
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
    body: RevokeTokenPayload,
    x_monite_version: str,
) -> ErrorSchemaResponse | HTTPValidationError | MessageResponse | None:
    """Revoke a token

     Invalidates a partner or entity-user token at once; later calls with it are refused.

    Args:
        x_monite_version (str):
        body (RevokeTokenPayload): A token to revoke, with the credentials it was issued to.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorSchemaResponse | HTTPValidationError | MessageResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        x_monite_version=x_monite_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: RevokeTokenPayload,
    x_monite_version: str,
) -> Response[ErrorSchemaResponse | HTTPValidationError | MessageResponse]:
    """Revoke a token

     Invalidates a partner or entity-user token at once; later calls with it are refused.

    Args:
        x_monite_version (str):
        body (RevokeTokenPayload): A token to revoke, with the credentials it was issued to.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorSchemaResponse | HTTPValidationError | MessageResponse]
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
    body: RevokeTokenPayload,
    x_monite_version: str,
) -> ErrorSchemaResponse | HTTPValidationError | MessageResponse | None:
    """Revoke a token

     Invalidates a partner or entity-user token at once; later calls with it are refused.

    Args:
        x_monite_version (str):
        body (RevokeTokenPayload): A token to revoke, with the credentials it was issued to.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorSchemaResponse | HTTPValidationError | MessageResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_monite_version=x_monite_version,
        )
    ).parsed
