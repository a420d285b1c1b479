"""The public surface: names exported, importable without the `testing` extra."""

from __future__ import annotations

import subprocess
import sys

import monite_generated.models

import monite_async


def test_all_names_resolve_and_models_are_the_generated_classes() -> None:
    for name in monite_async.__all__:
        assert hasattr(monite_async, name), name
    for model in ("DomainResponse", "DomainListResponse", "DNSRecords", "DNSRecord", "DNSRecordType",
                  "DNSRecordPurpose", "VerifyResponse", "AccessTokenResponse"):  # fmt: skip
        assert getattr(monite_async, model) is getattr(monite_generated.models, model)
    assert monite_async.API_VERSION == "2024-05-25"


def test_error_tree() -> None:
    from monite_async import (
        AuthenticationError,
        ConfigurationError,
        ConflictError,
        InvalidRequestError,
        MoniteAPIError,
        MoniteConnectionError,
        MoniteError,
        MoniteTimeoutError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        UnexpectedResponseError,
        ValidationError,
    )

    for status_error in (AuthenticationError, PermissionDeniedError, NotFoundError, ConflictError,
                         ValidationError, RateLimitError, ServerError, UnexpectedResponseError):  # fmt: skip
        assert issubclass(status_error, MoniteAPIError)
    for error in (MoniteAPIError, MoniteConnectionError, ConfigurationError, InvalidRequestError):
        assert issubclass(error, MoniteError)
    assert issubclass(MoniteTimeoutError, MoniteConnectionError)
    assert issubclass(InvalidRequestError, ValueError)


def test_import_needs_neither_starlette_nor_uvicorn() -> None:
    program = (
        "import sys\n"
        "sys.modules['starlette'] = None\n"  # makes any import of it fail
        "sys.modules['uvicorn'] = None\n"
        "import monite_async\n"
        "assert 'starlette' not in [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok')\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
