from http import HTTPStatus
from typing import Any, Final

import httpx2 as httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.access_token_response import AccessTokenResponse
from ...models.error_schema_response import ErrorSchemaResponse
from ...models.http_validation_error import HTTPValidationError
from ...models.obtain_token_payload import ObtainTokenPayload
from ...types import Response

OPERATION_ID: Final = "post_auth_token"
"""The operation this module calls; its literal type tells the module apart from every other."""
PATH: Final = "/auth/token"
REQUIRES_AUTH: Final = False


def _get_kwargs(
    *,
    body: ObtainTokenPayload,
    x_monite_version: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["x-monite-version"] = x_monite_version

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/auth/token",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError | None:
    if response.status_code == 200:
        response_200 = AccessTokenResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorSchemaResponse.from_dict(response.json())

        return response_401

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
        response_200 = AccessTokenResponse.from_dict(response.json())

        return response_200

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ObtainTokenPayload,
    x_monite_version: str,
) -> Response[AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError]:
    """Obtain a token

     Exchanges a client ID and secret for a bearer token. There is no refresh grant: ask again before
    `expires_in` runs out.

    Args:
        x_monite_version (str):
        body (ObtainTokenPayload): Credentials to exchange for a token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError]
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
    client: AuthenticatedClient | Client,
    body: ObtainTokenPayload,
    x_monite_version: str,
) -> AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError | None:
    """Obtain a token

     Exchanges a client ID and secret for a bearer token. There is no refresh grant: ask again before
    `expires_in` runs out.

    Args:
        x_monite_version (str):
        body (ObtainTokenPayload): Credentials to exchange for a token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError
    """

    return sync_detailed(
        client=client,
        body=body,
        x_monite_version=x_monite_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ObtainTokenPayload,
    x_monite_version: str,
) -> Response[AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError]:
    """Obtain a token

     Exchanges a client ID and secret for a bearer token. There is no refresh grant: ask again before
    `expires_in` runs out.

    Args:
        x_monite_version (str):
        body (ObtainTokenPayload): Credentials to exchange for a token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        body=body,
        x_monite_version=x_monite_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ObtainTokenPayload,
    x_monite_version: str,
) -> AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError | None:
    """Obtain a token

     Exchanges a client ID and secret for a bearer token. There is no refresh grant: ask again before
    `expires_in` runs out.

    Args:
        x_monite_version (str):
        body (ObtainTokenPayload): Credentials to exchange for a token.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccessTokenResponse | ErrorSchemaResponse | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_monite_version=x_monite_version,
        )
    ).parsed
