"""The error contract users rely on: every MoniteError, whatever made it, has the same shape.

`message` (str), `request_id` (str or None), `status_code` (int or None), `operation` (str or
None) and `attempts` (int) are readable on every error monite_async raises: each subclass,
and each way the SDK really raises one (refused before sending, no connection, Monite's
answers, the client's own state), so a handler such as the README web app's
`except MoniteError as exc: ... exc.message ... exc.request_id` never fails with an
AttributeError (which a web framework turns into a 500; tests/project/test_readme.py runs that app).
"""

from __future__ import annotations

import socket

import pytest

import monite_async
from monite_async import MoniteClient, MoniteError
from monite_async.testing import FakeMonite

VALID_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def subclasses(cls: type[MoniteError]) -> set[type[MoniteError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= subclasses(sub)
    return found


def assert_shape(error: MoniteError) -> None:
    assert isinstance(error.message, str)
    assert error.message
    assert error.request_id is None or isinstance(error.request_id, str)
    assert error.status_code is None or isinstance(error.status_code, int)
    assert error.operation is None or isinstance(error.operation, str)
    assert isinstance(error.attempts, int)
    str(error), repr(error)
    for name in ("message", "request_id", "status_code", "operation", "attempts"):
        with pytest.raises(AttributeError):  # read-only
            setattr(error, name, None)


def every_error_class() -> list[type[MoniteError]]:
    public = {
        c for c in (getattr(monite_async, name) for name in monite_async.__all__) if isinstance(c, type)
    }
    classes = {MoniteError} | subclasses(MoniteError)
    assert classes <= public | {MoniteError}, "an error class that users cannot import"
    return sorted(classes, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_every_subclass_has_the_five_attributes(cls: type[MoniteError]) -> None:
    if issubclass(cls, monite_async.MoniteAPIError):
        error: MoniteError = cls(status_code=418)
    else:
        error = cls()
    assert_shape(error)


def client_for(fake: FakeMonite) -> MoniteClient:
    return MoniteClient(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        base_url=fake.base_url,
        transport=fake.transport(),
    )


async def test_refused_before_sending_invalid_request(fake_monite: FakeMonite) -> None:
    async with client_for(fake_monite) as monite:
        with pytest.raises(monite_async.InvalidRequestError) as caught:
            await monite.mailbox_domains.verify("not-a-uuid")
    assert_shape(caught.value)
    assert (caught.value.status_code, caught.value.request_id, caught.value.attempts) == (None, None, 0)
    assert fake_monite.requests == []


async def test_unreachable_port_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with MoniteClient(
        client_id=FakeMonite().client_id, client_secret="x", base_url=f"http://127.0.0.1:{port}/v1"
    ) as monite:
        with pytest.raises(monite_async.MoniteConnectionError) as caught:
            await monite.mailbox_domains.list()
    error = caught.value
    assert_shape(error)
    assert (error.status_code, error.request_id) == (None, None)
    assert error.attempts == 1 + monite.max_retries  # retried; waits instant (set_testing below)


@pytest.fixture(autouse=True)
def _instant_retries() -> object:
    before = monite_async.is_testing()
    monite_async.set_testing(True)
    yield
    monite_async.set_testing(before)


async def test_api_errors_from_monites_answers(fake_monite: FakeMonite) -> None:
    errors: list[MoniteError] = []
    async with client_for(fake_monite) as monite:
        with pytest.raises(monite_async.NotFoundError) as not_found:
            await monite.mailbox_domains.verify(VALID_ID)
        errors.append(not_found.value)
        fake_monite.faults.fail_next("get_mailbox_domains", times=3, status=503)
        with pytest.raises(monite_async.ServerError) as server:
            await monite.mailbox_domains.list()
        errors.append(server.value)
        fake_monite.faults.fail_next("get_mailbox_domains", non_json=True)
        with pytest.raises(monite_async.UnexpectedResponseError) as unexpected:
            await monite.mailbox_domains.list()
        errors.append(unexpected.value)
        await monite.mailbox_domains.create("mail.example.com")
        with pytest.raises(monite_async.ConflictError) as conflict:
            await monite.mailbox_domains.create("mail.example.com")
        errors.append(conflict.value)
    for error in errors:
        assert_shape(error)
        assert isinstance(error.status_code, int)
        assert error.request_id  # the fake sends x-request-id, as Monite does
        assert error.operation in (
            "post_mailbox_domains_id_verify",
            "get_mailbox_domains",
            "post_mailbox_domains",
        )
        assert error.attempts >= 1
    assert (not_found.value.status_code, not_found.value.attempts) == (404, 1)
    assert (server.value.status_code, server.value.attempts) == (503, 3)


async def test_bad_credentials_configuration_and_client_state(fake_monite: FakeMonite) -> None:
    async with MoniteClient(
        client_id=fake_monite.client_id,
        client_secret="wrong",
        base_url=fake_monite.base_url,
        transport=fake_monite.transport(),
    ) as monite:
        with pytest.raises(monite_async.AuthenticationError) as auth:
            await monite.mailbox_domains.list()
    assert_shape(auth.value)
    assert auth.value.status_code in (400, 401, 403)

    with pytest.raises(monite_async.ConfigurationError) as config:
        MoniteClient(client_id="not-a-uuid", client_secret="x")
    assert_shape(config.value)
    assert (config.value.status_code, config.value.request_id, config.value.attempts) == (None, None, 0)

    closed = client_for(fake_monite)
    await closed.aclose()
    with pytest.raises(monite_async.ClientStateError) as state:
        await closed.mailbox_domains.list()
    assert_shape(state.value)
    assert "wrong" not in str(auth.value) + repr(auth.value)  # the secret is never in an error
