"""Per-call options: what `MoniteClient(...)` sets for every call and `with_options(...)`
changes for some. Checked here once, so a bad value fails where it is given.

    fast = monite.with_options(timeout=5, max_retries=0)
    patient = monite.with_options(deadline=120)
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

import httpx2

from ._errors import ConfigurationError
from ._transports import refuse_foreign_http
from ._versioning import VERSION_HEADER, validate_api_version

__all__ = ["UNSET_OPTION", "CallOptions", "check_deadline", "check_max_retries", "check_timeout"]

# RFC 9110's token: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers the client owns: a per-call header may not replace them.
_RESERVED_HEADERS = frozenset({"authorization", VERSION_HEADER})


class _Unset:
    """The default of a `with_options` argument: keep the parent's value."""

    def __repr__(self) -> str:
        return "UNSET_OPTION"


UNSET_OPTION = _Unset()


def check_timeout(timeout: object) -> httpx2.Timeout:
    """`timeout` (seconds or an httpx2.Timeout) as an httpx2.Timeout with every part finite."""
    refuse_foreign_http(timeout=timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx2.Timeout):
        raise ConfigurationError(
            "timeout must be seconds (a number) or an httpx2.Timeout; None is not allowed"
        )
    result = timeout if isinstance(timeout, httpx2.Timeout) else httpx2.Timeout(float(timeout))
    parts = (result.connect, result.read, result.write, result.pool)
    if any(part is None or not math.isfinite(part) or part <= 0 for part in parts):
        raise ConfigurationError(
            "every part of timeout must be a positive number of seconds (never no timeout)"
        )
    return result


def check_max_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError("max_retries must be an int >= 0")
    return max_retries


def check_deadline(deadline: object) -> float:
    """A call's whole budget in seconds: finite and positive (never "no deadline")."""
    if isinstance(deadline, bool) or not isinstance(deadline, int | float):
        raise ConfigurationError("deadline must be seconds (a number); None is not allowed")
    if not math.isfinite(deadline) or deadline <= 0:
        raise ConfigurationError("deadline must be a positive, finite number of seconds")
    return float(deadline)


def _check_headers(headers: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(headers, Mapping):
        raise ConfigurationError("headers must be a mapping of header names to str values")
    checked: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError("headers must map str names to str values")
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigurationError(f"header name {name[:40]!r} is not a valid HTTP header name")
        if name.lower() in _RESERVED_HEADERS:
            raise ConfigurationError(
                f"headers may not set {name!r}: the client signs every request itself, and the "
                "version is set with api_version="
            )
        if not value.isprintable() or not value.isascii() or not name.isascii():
            raise ConfigurationError(f"header {name[:40]!r} must be printable ASCII (no CR or LF)")
        checked.append((name, value))
    return tuple(checked)


@dataclasses.dataclass(frozen=True, slots=True)
class CallOptions:
    """The options one call runs with (see `MoniteClient.with_options`)."""

    timeout: httpx2.Timeout
    max_retries: int
    deadline: float
    api_version: str
    headers: tuple[tuple[str, str], ...] = ()

    def replace(
        self,
        *,
        timeout: object = UNSET_OPTION,
        max_retries: object = UNSET_OPTION,
        deadline: object = UNSET_OPTION,
        headers: object = UNSET_OPTION,
        api_version: object = UNSET_OPTION,
    ) -> CallOptions:
        """These options with the given ones changed (each checked); headers are added."""
        return CallOptions(
            timeout=self.timeout if timeout is UNSET_OPTION else check_timeout(timeout),
            max_retries=self.max_retries if max_retries is UNSET_OPTION else check_max_retries(max_retries),
            deadline=self.deadline if deadline is UNSET_OPTION else check_deadline(deadline),
            api_version=self.api_version
            if api_version is UNSET_OPTION
            else validate_api_version(api_version),
            headers=self.headers if headers is UNSET_OPTION else self._added(_check_headers(headers)),
        )

    def _added(self, extra: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        replaced = {name.lower() for name, _ in extra}
        return tuple((n, v) for n, v in self.headers if n.lower() not in replaced) + extra
