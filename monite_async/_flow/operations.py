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

Our copy of the generator's module template (openapi/templates/endpoint_module.py.jinja)
also writes `PATH` (the path as the spec writes it) and `REQUIRES_AUTH` (whether the spec
secures the operation) into every module, so nothing reads them back from the code: the flow
takes them as they are (`call.Flow.call`).
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
from collections.abc import Mapping
from typing import Any

import httpx2
from monite_generated.client import Client

from . import failures as _error_mapping

__all__ = [
    "PRIVATE_FUNCTIONS",
    "missing_private_functions",
    "operation_name",
    "parameters",
    "parse_success",
    "request_kwargs",
    "resolve_operation",
]

PRIVATE_FUNCTIONS = ("_get_kwargs", "_parse_response")

# `_parse_response` only reads `raise_on_unexpected_status` from its client; with it set, an
# undeclared status raises instead of silently parsing to None.
_STRICT_PARSER_CLIENT = Client(base_url="http://unused.invalid", raise_on_unexpected_status=True)


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
def parameters(module: types.ModuleType) -> Mapping[str, inspect.Parameter]:
    """The operation's request arguments: `x_monite_version` and `x_monite_entity_id` among
    them when it takes the version header or is entity-scoped (its spec declares the header);
    its path parameters positional, everything else keyword-only (as the generator writes them)."""
    return inspect.signature(module._get_kwargs).parameters


def request_kwargs(module: types.ModuleType, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request as httpx2 keyword arguments (`method`, `url`, `headers`, `json`, ...)."""
    result: dict[str, Any] = module._get_kwargs(*args, **kwargs)
    return result


def parse_success(module: types.ModuleType, response: httpx2.Response) -> Any:
    """The model for a 2xx answer (read already). Raises the generator's parse errors
    (ValueError, KeyError, TypeError, ...), `UnexpectedStatus`, or RecursionError for JSON
    nested thousands deep (`request.parse` makes each a typed error). (A success status the
    operation does not declare is parsed as the one it does: our template of the generator
    writes that into `_parse_response`, for Monite's success codes differ between API
    versions: create answers 201, but 200 under 2023-09-01.)"""
    return module._parse_response(client=_STRICT_PARSER_CLIENT, response=response)
