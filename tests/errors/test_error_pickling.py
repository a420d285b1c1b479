"""Every MoniteError survives pickle and `copy.copy` whole: Celery's result backends and
multiprocessing pickle a task's exception, and a Celery worker that cannot pickle one reports
its own failure instead of the error. A copy carries every field and no traceback."""

from __future__ import annotations

import copy
import pickle

import pytest

import monite_async
from monite_async import FieldError, MoniteError


def every_error_class() -> list[type[MoniteError]]:
    found: set[type[MoniteError]] = {MoniteError}
    todo = [MoniteError]
    while todo:  # bounded: the class tree is finite
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return sorted(found, key=lambda c: c.__name__)


def made(cls: type[MoniteError]) -> MoniteError:
    """An error of `cls` with every field it has set (other than their defaults)."""
    if cls is monite_async.ValidationError:
        fields = (FieldError(("body", "domain"), "not a domain", "value_error"),)
        return monite_async.ValidationError(
            "bad", status_code=422, field_errors=fields, body=b'{"detail": []}', request_id="req-1",
            operation="post_mailbox_domains", attempts=3,
        )  # fmt: skip
    if issubclass(cls, monite_async.MoniteAPIError):
        return cls(
            "refused", status_code=409, body=b'{"error": {"message": "refused"}}', retry_after=2.5,
            retried_after_uncertain_failure=True, request_id="req-1", operation="post_mailbox_domains",
            attempts=3,
        )  # fmt: skip
    if issubclass(cls, monite_async.VerificationTimeoutError):
        return cls("not yet", last_status="waiting_to_be_verified", checks=4, request_id="req-2", attempts=5)
    return cls("it failed", request_id="req-1", operation="post_mailbox_domains", attempts=3)


ATTRIBUTES = (
    "message", "status_code", "request_id", "operation", "attempts", "body", "content", "retry_after",
    "retried_after_uncertain_failure", "field_errors", "last_status", "checks",
)  # fmt: skip


def assert_same(copied: MoniteError, error: MoniteError) -> None:
    assert type(copied) is type(error)
    assert copied is not error
    assert (str(copied), repr(copied), copied.args) == (str(error), repr(error), error.args)
    for name in ATTRIBUTES:
        if hasattr(error, name):
            assert getattr(copied, name) == getattr(error, name), name
    assert copied.__traceback__ is None
    assert copied.__cause__ is None
    assert copied.__context__ is None


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_every_error_pickles_whole(cls: type[MoniteError]) -> None:
    error = made(cls)
    with pytest.raises(MoniteError):
        raise error from KeyError("cause")
    assert error.__traceback__ is not None
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert_same(pickle.loads(pickle.dumps(error, protocol)), error)  # noqa: S301 (our own bytes)


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_a_copy_has_every_field_and_no_traceback(cls: type[MoniteError]) -> None:
    error = made(cls)
    with pytest.raises(MoniteError):
        raise error from KeyError("cause")
    assert_same(copy.copy(error), error)
