"""What every resource shares, generated or hand-written: the flow a method composes, how a
success becomes the method's result, and the checks the generated methods call.

The methods themselves are rendered from the spec into `resources/_generated/` by
`make generate`; hand-written behaviour (`resources/mailbox_domains.py`) subclasses them.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Generator
from typing import Any, Protocol, TypeVar

from monite_generated.types import Unset

from .._errors import InvalidRequestError
from .._flow import failures as errors
from .._flow.call import Flow
from .._flow.options import CallOptions
from .._flow.request import Outcome
from .._flow.steps import Step

__all__ = ["FlowsBase", "Resource", "ResourceFlow", "enum_value", "expect", "items", "nothing"]

_T = TypeVar("_T")  # a model, an item of a list answer, or a flow's result: each use is its own
_Enum = TypeVar("_Enum", bound=enum.Enum)
ResourceFlow = Generator[Step, Any, _T]


class _Envelope(Protocol[_T]):
    """A list answer without paging: `{"data": [...]}` (the generator types an optional
    `data` as `list | Unset`)."""

    @property
    def data(self) -> list[_T] | Unset: ...


class Resource:
    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FlowsBase:
    """A resource's methods as parts of the one flow, written once for both clients: each
    request is a `Flow.call`; a method's requests share its deadline and its span (opened
    before its arguments are checked, so a call refused before sending still shows)."""

    def __init__(self, flow: Flow, options: CallOptions) -> None:
        self._flow = flow
        self._options = options

    def _traced(self, operation: str) -> Any:
        return self._flow.tracing.operation(operation, api_version=self._options.api_version)

    def _call(self, operation: Any, *args: Any, budget_at: float, **kwargs: Any) -> ResourceFlow[Outcome]:
        return self._flow.call(self._options, operation, args, kwargs, budget_at=budget_at)

    def _budget(self) -> float:
        return time.monotonic() + self._options.deadline


def expect(model: type[_T], operation: str) -> Callable[[Outcome], _T]:
    """The parser of a success whose model is `model` (any other is an UnexpectedResponseError)."""

    def parse(outcome: Outcome) -> _T:
        if isinstance(outcome.parsed, model):
            return outcome.parsed
        raise errors.unexpected_model(
            outcome.response, expected=model.__name__, got=type(outcome.parsed).__name__, operation=operation
        )

    return parse


def items(model: type[_Envelope[_T]], operation: str) -> Callable[[Outcome], list[_T]]:
    """The parser of an unpaged list answer: its `data` (an empty list when Monite left it out)."""
    envelope = expect(model, operation)

    def parse(outcome: Outcome) -> list[_T]:
        data = envelope(outcome).data
        return [] if isinstance(data, Unset) else data

    return parse


def nothing(outcome: Outcome) -> None:
    """The parser of an answer without a body (204)."""


def enum_value(kind: type[_Enum], value: object, *, name: str) -> _Enum:
    """`value` as a member of `kind` (a member or its value), else InvalidRequestError."""
    if isinstance(value, kind):  # fast path: a member as it is, without the Enum call
        return value
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        raise InvalidRequestError(f"{name} must be one of {allowed}; got {value!r:.40}") from None
