"""The one place the facade touches the generated operation modules' private functions.

Every module openapi-python-client writes under `api/` has `_get_kwargs(...)` (the
request as httpx2 keyword arguments) and `_parse_response(client=, response=)` (the model
for a status). The facade needs both apart: it sends straight to its transport (auth,
retries, typed errors), which the public `asyncio_detailed` cannot do, and it must map an
error status before the generated `_build_response` calls `HTTPStatus(code)` (which fails
on 520 or 599).

Why relying on them is safe: the generator is pinned exactly (scripts/generate.py refuses
another version), both functions are in every operation module it writes, and
tests/project/test_layout.py fails loudly, naming the module, when a regenerated module
lacks either, so a generator upgrade cannot break the facade silently.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any

import httpx2
from monite_generated.client import AuthenticatedClient, Client
from monite_generated.errors import UnexpectedStatus

from . import failures as _error_mapping

__all__ = [
    "PRIVATE_FUNCTIONS",
    "missing_private_functions",
    "operation_name",
    "parameters",
    "parse_success",
    "request_kwargs",
    "requires_auth",
    "resolve_operation",
    "url_template",
]

PRIVATE_FUNCTIONS = ("_get_kwargs", "_parse_response")

# `_parse_response` only reads `raise_on_unexpected_status` from its client; with it set, an
# undeclared status raises instead of silently parsing to None.
_STRICT_PARSER_CLIENT = Client(base_url="http://unused.invalid", raise_on_unexpected_status=True)
_SUCCESS_CODES = (200, 201, 202, 204)
# What describes the bytes on the wire, not the decoded ones a stand-in response is given.
_FRAMING_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def missing_private_functions(module: types.ModuleType) -> list[str]:
    """Which of `PRIVATE_FUNCTIONS` `module` lacks (empty for every generated operation)."""
    return [name for name in PRIVATE_FUNCTIONS if not callable(getattr(module, name, None))]


def resolve_operation(operation: object) -> types.ModuleType:
    """Accept a generated operation module or any of its functions; return the module."""
    module: object = operation
    if not isinstance(operation, types.ModuleType):
        module_name = getattr(operation, "__module__", None)
        module = sys.modules.get(module_name) if isinstance(module_name, str) else None
    if not isinstance(module, types.ModuleType) or missing_private_functions(module):
        raise _error_mapping.not_an_operation(operation)
    return module


def operation_name(module: types.ModuleType) -> str:
    """The operationId the module was generated from (its own name)."""
    return module.__name__.rpartition(".")[2]


@functools.cache
def requires_auth(module: types.ModuleType) -> bool:
    """Whether the operation is secured. The generator types `client` as
    `AuthenticatedClient` for secured operations and as `AuthenticatedClient | Client` for
    open ones (POST /auth/token): the spec's security, read back from the code (a module
    without it is taken as secured)."""
    detailed = getattr(module, "asyncio_detailed", None)
    hints = typing.get_type_hints(detailed) if detailed is not None else {}
    return hints.get("client", AuthenticatedClient) is AuthenticatedClient


@functools.cache
def parameters(module: types.ModuleType) -> Mapping[str, inspect.Parameter]:
    """The operation's request arguments: `x_monite_version` and `x_monite_entity_id` among
    them when it takes the version header or is entity-scoped (its spec declares the header);
    its path parameters positional, everything else keyword-only (as the generator writes them)."""
    return inspect.signature(module._get_kwargs).parameters


def url_template(module: types.ModuleType, args: tuple[Any, ...], url: str) -> str:
    """The path as the spec writes it (`/mailbox_domains/{domain_id}`), from the built one."""
    template = url
    path = [p.name for p in parameters(module).values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    for name, value in zip(path, args, strict=False):
        text = str(value)
        if text:
            template = template.replace(text, "{" + name + "}", 1)
    return template


def request_kwargs(module: types.ModuleType, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request as httpx2 keyword arguments (`method`, `url`, `headers`, `json`, ...)."""
    result: dict[str, Any] = module._get_kwargs(*args, **kwargs)
    return result


def parse_success(module: types.ModuleType, response: httpx2.Response) -> Any:
    """The model for a 2xx answer (read already). Raises the generator's parse errors
    (ValueError, KeyError, TypeError, ...) or `UnexpectedStatus`, never chained to one
    another, and none holding the body: for a token answer that body is a token."""
    parsed, failure = _parse_once(module, response)
    if isinstance(failure, UnexpectedStatus):
        # Success codes differ between API versions (create: 201, but 200 under 2023-09-01).
        # Parse as a success the operation does declare, from the bytes already decoded: a
        # stand-in with the answer's Content-Encoding would decode them a second time.
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _FRAMING_HEADERS]
        for code in _SUCCESS_CODES:
            stand_in = httpx2.Response(
                code, headers=headers, content=response.content, request=response.request
            )
            parsed, failure = _parse_once(module, stand_in)
            if not isinstance(failure, UnexpectedStatus):
                break
        else:
            raise UnexpectedStatus(response.status_code, b"")
    if failure is not None:
        raise failure
    return parsed


def _parse_once(module: types.ModuleType, response: httpx2.Response) -> tuple[Any, Exception | None]:
    """The generated parser's model, or what it raised (kept, to be raised with no context)."""
    try:
        return module._parse_response(client=_STRICT_PARSER_CLIENT, response=response), None
    except RecursionError:
        # JSON nested thousands deep: json.loads recurses per level. One failure like any parse error.
        return None, ValueError("the body is nested too deeply to parse")
    except Exception as exc:
        return None, exc
