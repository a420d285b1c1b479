"""One hostile exchange, run on one kind of client, checked against the SDK's four promises.

    report = exercise("trio", server, call="list", deadline=2.0)
    assert report.broken() == []

`exercise` makes a client of the kind named (`VARIANTS`: MoniteClient under asyncio, trio and
uvloop, on the aiohttp transport under asyncio, or MoniteSyncClient), makes the one hostile
call while the server's scripts are in force, then puts the server back to its default
answers (`server.reset()`) and makes one normal `with_raw_response.list()` on the same client.
The promises (`Report.broken()` names the ones not kept):

- "escape": the hostile call raised something that is not a MoniteError;
- "overrun": it took longer than its deadline + 1 s;
- "leak": a secret (the client secret, a token the server issued) shows in the error's str,
  repr or traceback, in any exception of its __cause__/__context__ chain (their str, repr and
  attributes), or in what the `monite_async` logger wrote at DEBUG;
- "step": the normal call afterwards did not get its own answer (the `x-request-id` the server
  sent for it), or failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

import anyio
from exception_chains import chain
from monite_generated.api.access_tokens import post_auth_token
from monite_generated.models import GrantType, ObtainTokenPayload

from monite_async import MoniteClient, MoniteError, MoniteSyncClient, aiohttp_transport

from .raw_server import CLIENT_ID, CLIENT_SECRET, RawServer

__all__ = ["CALLS", "PROMISES", "VARIANTS", "Report", "exercise"]

try:
    import uvloop
except ImportError:  # not on Windows: that variant is left out there
    uvloop = None

VARIANTS = ("asyncio", "trio", "aiohttp", "sync") + (("uvloop",) if uvloop is not None else ())
PROMISES = ("escape", "overrun", "leak", "step")
CALLS = ("list", "create", "token")
_SLACK = 1.0
Around = Callable[[float], AbstractContextManager[object]]


@dataclasses.dataclass
class Report:
    variant: str
    deadline: float
    error: BaseException | None = None
    elapsed: float = 0.0
    logs: list[str] = dataclasses.field(default_factory=list)
    secrets: list[str] = dataclasses.field(default_factory=list)
    follow_up: object = None  # the normal call's RawResponse, or what it raised
    expected_id: str | None = None

    def leaked(self) -> list[str]:
        texts = list(self.logs)
        if self.error is not None:
            texts.append("".join(traceback.format_exception(self.error)))
            for exc in chain(self.error):
                texts += [str(exc), repr(exc), repr(vars(exc)) if hasattr(exc, "__dict__") else ""]
                if isinstance(exc, MoniteError):
                    texts += [repr(getattr(exc, name, None)) for name in ("message", "request_id", "body")]
                    texts.append(repr(getattr(exc, "field_errors", None)))
        return [secret for secret in self.secrets if any(secret in text for text in texts)]

    def broken(self) -> list[str]:
        found = []
        if self.error is not None and not isinstance(self.error, MoniteError):
            found.append("escape")
        if self.elapsed > self.deadline + _SLACK:
            found.append("overrun")
        if self.leaked():
            found.append("leak")
        own_id = getattr(self.follow_up, "request_id", None)
        if own_id is None or own_id != self.expected_id:
            found.append("step")
        return found

    def __str__(self) -> str:
        follow = self.follow_up
        follow_text = f"{type(follow).__name__}: {follow}" if isinstance(follow, BaseException) else follow
        return (
            f"{self.variant}: {type(self.error).__name__ if self.error else 'no error'} "
            f"after {self.elapsed:.2f} s (deadline {self.deadline:g}); leaked {len(self.leaked())} "
            f"secret(s); follow-up {follow_text!r}, expected request id {self.expected_id}; "
            f"error: {str(self.error)[:300]!r}"
        )


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in vars(record).items() if k.startswith("monite_")}
        self.lines.append(f"{record.getMessage()} {extras!r}")


def _token_payload() -> ObtainTokenPayload:
    return ObtainTokenPayload(
        client_id=uuid.UUID(CLIENT_ID), client_secret=CLIENT_SECRET, grant_type=GrantType.CLIENT_CREDENTIALS
    )


def _settings(server: RawServer, deadline: float) -> dict[str, Any]:
    # Retries on, as users have them; the deadline is what bounds them.
    return {
        "base_url": server.base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "deadline": deadline,
    }


def _async_call(monite: MoniteClient, call: str) -> Awaitable[object]:
    if call == "list":
        return monite.mailbox_domains.list()
    if call == "create":
        return monite.mailbox_domains.create(domain="hostile.example.com")
    return monite.call(post_auth_token, body=_token_payload())


def _sync_call(monite: MoniteSyncClient, call: str) -> object:
    if call == "list":
        return monite.mailbox_domains.list()
    if call == "create":
        return monite.mailbox_domains.create(domain="hostile.example.com")
    return monite.call(post_auth_token, body=_token_payload())


async def _async_exchange(
    variant: str, server: RawServer, call: str, report: Report, options: dict[str, Any]
) -> None:
    settings = {**_settings(server, report.deadline), **options}
    if variant == "aiohttp":
        settings["transport"] = aiohttp_transport()
    async with MoniteClient(**settings) as monite:
        started = time.monotonic()
        try:
            await _async_call(monite, call)
        except BaseException as exc:  # everything is looked at: that is the test
            report.error = exc
        report.elapsed = time.monotonic() - started
        server.reset()
        try:
            report.follow_up = await monite.mailbox_domains.with_raw_response.list()
        except Exception as exc:
            report.follow_up = exc
        report.expected_id = server.answered_ids[-1] if server.answered_ids else None


def _sync_exchange(
    server: RawServer, call: str, report: Report, options: dict[str, Any], around: Around
) -> None:
    with MoniteSyncClient(**{**_settings(server, report.deadline), **options}) as monite:
        started = time.monotonic()
        try:
            with around(report.deadline):
                _sync_call(monite, call)
        except BaseException as exc:
            report.error = exc
        report.elapsed = time.monotonic() - started
        server.reset()
        try:
            report.follow_up = monite.mailbox_domains.with_raw_response.list()
        except Exception as exc:
            report.follow_up = exc
        report.expected_id = server.answered_ids[-1] if server.answered_ids else None


def _run_async(variant: str, main: Callable[[], Awaitable[None]]) -> None:
    if variant == "trio":
        anyio.run(main, backend="trio")
    elif variant == "uvloop":
        assert uvloop is not None
        uvloop.run(main())
    else:
        asyncio.run(main())


def exercise(
    variant: str,
    server: RawServer,
    *,
    call: str = "list",
    deadline: float = 2.0,
    options: dict[str, Any] | None = None,
    around: Around = lambda _deadline: contextlib.nullcontext(),
) -> Report:
    """Run the hostile call and the normal one after it on a fresh client of kind `variant`
    (made with `options` too); the blocking client's hostile call runs inside `around(deadline)`."""
    report = Report(variant=variant, deadline=deadline)
    capture = _Capture()
    logger = logging.getLogger("monite_async")
    level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        if variant == "sync":
            _sync_exchange(server, call, report, options or {}, around)
        else:
            _run_async(variant, lambda: _async_exchange(variant, server, call, report, options or {}))
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    report.logs = capture.lines
    report.secrets = server.secrets()
    return report
