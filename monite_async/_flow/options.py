"""Per-call options: what `MoniteClient(...)` sets for every call and `with_options(...)`
changes for some. Checked here once, so a bad value fails where it is given.

    fast = monite.with_options(timeout=5, max_retries=0)
    patient = monite.with_options(deadline=120)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import uuid
from collections.abc import Mapping

import httpx2

from .._defaults import DEFAULT_DEADLINE, DEFAULT_TIMEOUT
from .._errors import ConfigurationError
from .._http.transports import refuse_foreign_http
from .versioning import VERSION_HEADER, validate_api_version

__all__ = ["NOT_GIVEN", "CallOptions", "NotGiven"]

# RFC 9110's token: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers the client owns: a per-call header may not replace them (the entity header goes
# only on the operations that declare it: `entity_id=`).
_RESERVED_HEADERS = frozenset({"authorization", VERSION_HEADER, "x-monite-entity-id"})


class NotGiven:
    """The default of a `with_options` argument: keep the client's value (as openai-python's
    `NOT_GIVEN`, so that None can never be mistaken for "not given").

        monite.with_options(timeout=5)  # max_retries, deadline, headers, api_version: NOT_GIVEN
    """

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


def _shown(value: object) -> str:
    """What a refused argument was, short (never its whole text: it may be long)."""
    return f"{type(value).__name__} {value!r:.40}"


def check_timeout(timeout: object) -> httpx2.Timeout:
    """`timeout` (seconds or an httpx2.Timeout) as an httpx2.Timeout with every part finite."""
    refuse_foreign_http(timeout=timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx2.Timeout):
        raise ConfigurationError(
            f"timeout must be seconds (a number) or an httpx2.Timeout; got {_shown(timeout)}"
        )
    result = timeout if isinstance(timeout, httpx2.Timeout) else httpx2.Timeout(float(timeout))
    if any(part is None or not math.isfinite(part) or part <= 0 for part in result.as_dict().values()):
        raise ConfigurationError(
            "every part of timeout must be a positive number of seconds (never no timeout)"
        )
    return result


def check_max_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0; got {_shown(max_retries)}")
    return max_retries


def check_deadline(deadline: object) -> float:
    """A call's whole budget in seconds: finite and positive (never "no deadline")."""
    if isinstance(deadline, bool) or not isinstance(deadline, int | float):
        raise ConfigurationError(f"deadline must be seconds (a number); got {_shown(deadline)}")
    if not math.isfinite(deadline) or deadline <= 0:
        raise ConfigurationError("deadline must be a positive, finite number of seconds")
    return float(deadline)


def check_entity_id(entity_id: object) -> str | None:
    """The entity an entity-scoped operation acts for: a UUID (or its text), or None."""
    if entity_id is None or isinstance(entity_id, uuid.UUID):
        return None if entity_id is None else str(entity_id)
    with contextlib.suppress(ValueError):  # not a UUID's text
        if isinstance(entity_id, str):
            return str(uuid.UUID(entity_id))
    raise ConfigurationError(f"entity_id must be a UUID (or its text), or None; got {_shown(entity_id)}")


def _add_headers(kept: tuple[tuple[str, str], ...], headers: object) -> tuple[tuple[str, str], ...]:
    """`kept` with `headers` added, each checked; one of them replaces a kept one of its name
    (in any case)."""
    if not isinstance(headers, Mapping):
        raise ConfigurationError(
            f"headers must be a mapping of header names to str values; got {_shown(headers)}"
        )
    checked = list(headers.items())
    for name, value in checked:
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError("headers must map str names to str values")
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigurationError(f"header name {name[:40]!r} is not a valid HTTP header name")
        if name.lower() in _RESERVED_HEADERS:
            raise ConfigurationError(
                f"headers may not set {name!r}: the client signs every request itself, and the "
                "version is set with api_version=, the entity with entity_id="
            )
        if not value.isprintable() or not value.isascii():  # the name's pattern is ASCII already
            raise ConfigurationError(f"header {name[:40]!r} must be printable ASCII (no CR or LF)")
    replaced = {name.lower() for name, _ in checked}
    return tuple((n, v) for n, v in kept if n.lower() not in replaced) + tuple(checked)


@dataclasses.dataclass(frozen=True, slots=True)
class CallOptions:
    """The options one call runs with (see `MoniteClient.with_options`)."""

    timeout: httpx2.Timeout
    max_retries: int
    deadline: float
    api_version: str
    headers: tuple[tuple[str, str], ...] = ()
    entity_id: str | None = None  # sent as x-monite-entity-id on entity-scoped operations only

    def replace(
        self,
        *,
        timeout: object = NOT_GIVEN,
        max_retries: object = NOT_GIVEN,
        deadline: object = NOT_GIVEN,
        headers: object = NOT_GIVEN,
        api_version: object = NOT_GIVEN,
        entity_id: object = NOT_GIVEN,
    ) -> CallOptions:
        """These options with the given ones changed (each checked); headers are added."""
        return CallOptions(
            timeout=self.timeout if timeout is NOT_GIVEN else check_timeout(timeout),
            max_retries=self.max_retries if max_retries is NOT_GIVEN else check_max_retries(max_retries),
            deadline=self.deadline if deadline is NOT_GIVEN else check_deadline(deadline),
            api_version=self.api_version if api_version is NOT_GIVEN else validate_api_version(api_version),
            headers=self.headers if headers is NOT_GIVEN else _add_headers(self.headers, headers),
            entity_id=self.entity_id if entity_id is NOT_GIVEN else check_entity_id(entity_id),
        )

    def changes(self) -> str:
        """What these options change from the defaults, for a repr (header names, never values)."""
        parts = (
            (self.timeout != DEFAULT_TIMEOUT, f"timeout={self.timeout!r}"),
            (self.deadline != DEFAULT_DEADLINE, f"deadline={self.deadline:g}"),
            (self.entity_id is not None, f"entity_id={self.entity_id!r}"),
            (bool(self.headers), f"headers={[name for name, _ in self.headers]!r}"),
        )
        return "".join(f", {part}" for changed, part in parts if changed)
