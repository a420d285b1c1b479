"""Request validation that answers the way Monite's FastAPI does: 422 with `detail` entries.

Each check returns a list of FastAPI/pydantic-v2-shaped problems, for example::

    >>> check_domain_request({"domain": "-bad.example"})
    [{'loc': ['body', 'domain'], 'msg': "Value error, label '-bad' ...", 'type': 'value_error'}]
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

Problem = dict[str, Any]

# `[0-9]` rather than `\d`: Python's `\d` also matches Arabic-Indic and other Unicode digits.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_VERSION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_HOSTNAME = 253


class InvalidRequest(Exception):
    """A request that does not validate; `problems` is the 422 `detail` list."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} validation problem(s)")
        self.problems = problems


def is_version(value: str) -> bool:
    """Whether `value` has the `YYYY-MM-DD` shape of an `x-monite-version`."""
    return _VERSION.fullmatch(value) is not None


def hostname_problem(value: str) -> str | None:
    """Why `value` is not a host name Monite accepts, or None when it is fine.

    >>> hostname_problem("mail.example.com") is None
    True
    """
    if not value:
        return "the domain is empty"
    if len(value) > _MAX_HOSTNAME:
        return f"the domain is longer than {_MAX_HOSTNAME} characters"
    for label in value.split("."):
        if _LABEL.fullmatch(label) is None:
            return (
                f"label {label!r} must be 1 to 63 letters, digits or hyphens,"
                " starting and ending with a letter or digit"
            )
    return None


def parse_json(raw: bytes) -> Any:
    """The JSON body of a request, or InvalidRequest shaped as FastAPI reports a bad body."""
    if not raw.strip():
        raise InvalidRequest([_problem(["body"], "Field required", "missing")])
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else exc.start
        raise InvalidRequest([_problem(["body", position], "JSON decode error", "json_invalid")]) from None


def parse_uuid(value: str, *, loc: list[str | int]) -> uuid.UUID:
    """`value` as a UUID, or InvalidRequest for the location `loc`."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidRequest([_problem(loc, "Input should be a valid UUID", "uuid_parsing")]) from None


# A field check answers None when the value is fine, else (message, pydantic error type).
FieldCheck = Callable[[Any], tuple[str, str] | None]


def _string(value: Any) -> tuple[str, str] | None:
    return None if isinstance(value, str) else ("Input should be a valid string", "string_type")


def _uuid(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return ("UUID input should be a string, bytes or UUID object", "uuid_type")
    try:
        uuid.UUID(value)
    except ValueError:
        return ("Input should be a valid UUID", "uuid_parsing")
    return None


def _optional_uuid(value: Any) -> tuple[str, str] | None:
    return None if value is None else _uuid(value)


def _hostname(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return ("Input should be a valid string", "string_type")
    problem = hostname_problem(value)
    return None if problem is None else (f"Value error, {problem}", "value_error")


def _grant_type(value: Any) -> tuple[str, str] | None:
    if value in ("client_credentials", "entity_user"):
        return None
    return ("Input should be 'client_credentials' or 'entity_user'", "enum")


def _check_object(
    body: Any, *, fields: Mapping[str, FieldCheck], required: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(body, dict):
        message = "Input should be a valid dictionary or object to extract fields from"
        raise InvalidRequest([_problem(["body"], message, "model_attributes_type")])
    problems = [
        _problem(["body", name], "Field required", "missing") for name in required if name not in body
    ]
    for name, value in body.items():
        check = fields.get(name)
        if check is None:
            problems.append(_problem(["body", name], "Extra inputs are not permitted", "extra_forbidden"))
        elif (found := check(value)) is not None:
            problems.append(_problem(["body", name], *found))
    if problems:
        raise InvalidRequest(problems)
    return body


def check_token_request(body: Any) -> dict[str, Any]:
    """An `ObtainTokenPayload`, checked field by field (extra fields are refused)."""
    fields = {
        "grant_type": _grant_type,
        "client_id": _uuid,
        "client_secret": _string,
        "entity_user_id": _optional_uuid,
    }
    return _check_object(body, fields=fields, required=("client_id", "client_secret", "grant_type"))


def check_revoke_request(body: Any) -> dict[str, Any]:
    """A `RevokeTokenPayload`, checked field by field (extra fields are refused)."""
    fields = {"client_id": _uuid, "client_secret": _string, "token": _string}
    return _check_object(body, fields=fields, required=("client_id", "client_secret", "token"))


def check_domain_request(body: Any) -> dict[str, Any]:
    """A `DomainRequest`: one host name, no other field."""
    return _check_object(body, fields={"domain": _hostname}, required=("domain",))


def _problem(loc: list[str | int], msg: str, type_: str) -> Problem:
    return {"loc": loc, "msg": msg, "type": type_}
