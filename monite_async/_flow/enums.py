"""Make every generated enum survive values it does not know.

Monite adds enum values over time (a new DNS record type, a new purpose). The generated
`DNSRecordType(value)` raises ValueError on them, which would lose the whole response. At
import we give each generated StrEnum a `_missing_` hook that returns a pseudo-member keeping
the raw value, so the model still parses:

    >>> DNSRecordType("SRV").value
    'SRV'
    >>> is_known(DNSRecordType("SRV"))
    False
"""

from __future__ import annotations

import enum
import functools
from typing import Any

import monite_generated.models

__all__ = ["is_known"]

# Bounded: a misbehaving server must not grow memory without limit. Past the bound, unknown
# values still parse; the least recently seen are just no longer interned.
_MAX_CACHED = 256


@functools.lru_cache(maxsize=_MAX_CACHED)  # thread-safe, and holds no lock a fork could inherit
def _pseudo_member(cls: type[enum.StrEnum], value: str) -> enum.StrEnum:
    pseudo = str.__new__(cls, value)
    pseudo._name_ = value
    pseudo._value_ = value
    return pseudo


def _lenient_missing(cls: type[enum.StrEnum], value: object) -> Any:
    # Not a string at all: None, and Enum raises its ValueError.
    return _pseudo_member(cls, value) if isinstance(value, str) else None


def is_known(member: enum.Enum) -> bool:
    """True if `member` is one of its enum's declared members, False for a value kept by leniency."""
    return type(member)._value2member_map_.get(member.value) is member


def install_lenient_enums() -> None:
    """Install the hook on every StrEnum in monite_generated.models."""
    for candidate in vars(monite_generated.models).values():
        if isinstance(candidate, type) and issubclass(candidate, enum.StrEnum):
            # Enum looks `_missing_` up on the class, so a classmethod set here is honoured.
            candidate._missing_ = classmethod(_lenient_missing)  # type: ignore[assignment,method-assign]


install_lenient_enums()
