"""The `x-monite-version` header: one pinned version, checked once, sent on every request.

The default is the version the OpenAPI fragment describes (`info.version`), written into
the generated package by scripts/generate.py, so the SDK and its models never disagree.

    MoniteClient(api_version="2024-01-31")  # pin another documented version
"""

from __future__ import annotations

import datetime
import logging
import re

import httpx2
from monite_generated.api_version import API_VERSION

from .._errors import ConfigurationError

__all__ = ["API_VERSION", "VERSION_HEADER", "validate_api_version", "warn_of_version"]

VERSION_HEADER = "x-monite-version"

_logger = logging.getLogger("monite_async")
_VERSION_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


def validate_api_version(version: object) -> str:
    """Return `version` if it is a real calendar date written as YYYY-MM-DD, else raise.

    >>> validate_api_version("2024-05-25")
    '2024-05-25'
    """
    if not isinstance(version, str) or not _VERSION_SHAPE.fullmatch(version):
        raise ConfigurationError(
            f"api_version must be a date written as YYYY-MM-DD, such as {API_VERSION!r}; got {version!r}"
        )
    try:
        datetime.date.fromisoformat(version)
    except ValueError:
        raise ConfigurationError(f"api_version {version!r} is not a real calendar date") from None
    return version


def warn_of_version(echoed: str | None, request: httpx2.Request) -> bool:
    """Monite echoes the version it served (`echoed`, None: it did not): warn if it differs
    from the version the request asked for (a view's own `api_version` included); whether
    it warned (the flow warns once)."""
    asked = request.headers.get(VERSION_HEADER)
    if echoed is None or asked is None or echoed == asked:
        return False
    # Quoted only when it is a version: the header is the server's text, and a server
    # may echo anything there, a secret of ours included.
    shown = echoed if _VERSION_SHAPE.fullmatch(echoed) else f"<not a YYYY-MM-DD date, {len(echoed)} chars>"
    _logger.warning(
        "Monite answered with API version %s, but this client asked for %s; "
        "responses may not match the models of monite_async",
        shown,
        asked[:32],
        extra={"monite_expected_version": asked[:32], "monite_echoed_version": shown},
    )
    return True
