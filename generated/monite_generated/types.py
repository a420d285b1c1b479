"""Contains some shared types for properties"""

import functools
from collections.abc import Mapping, MutableMapping
from enum import Enum, StrEnum
from http import HTTPStatus
from typing import IO, BinaryIO, Generic, Literal, TypeVar, cast

from attrs import define


class Unset:
    """The value of an optional field the response did not have: falsy, printed as `UNSET`."""

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


@define
class Response(Generic[T]):
    """A response from an endpoint"""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


_E = TypeVar("_E", bound=StrEnum)


def lenient_member(cls: type[_E], value: object) -> _E | None:
    """A member of `cls` that keeps `value`, a str `cls` does not declare (None for any other
    value: the enum then raises its ValueError). Monite adds enum values over time (a new DNS
    record type); failing the whole answer on one would lose it:

        DNSRecordType("SRV").value  # "SRV", a value the spec does not list
    """
    return cast(_E, _pseudo_member(cls, value)) if isinstance(value, str) else None


# Bounded, so a server sending ever new values cannot grow memory without limit (past the
# bound they still parse; the least recently seen are no longer interned). Thread-safe, and
# it holds no lock a fork could inherit.
@functools.lru_cache(maxsize=256)
def _pseudo_member(cls: type[StrEnum], value: str) -> StrEnum:
    pseudo = str.__new__(cls, value)
    pseudo._name_ = value
    pseudo._value_ = value
    return pseudo


def is_known(member: Enum) -> bool:
    """True if `member` is one its enum declares; False for a value kept by `lenient_member`."""
    return type(member)._value2member_map_.get(member.value) is member


__all__ = ["UNSET", "File", "FileTypes", "RequestFiles", "Response", "Unset", "is_known", "lenient_member"]
