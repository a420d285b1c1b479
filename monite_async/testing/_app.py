"""The fake Monite as an ASGI app: routing, the checks every call passes, and the six operations.

Each request goes through, in this order: a scripted fault (like a proxy in front of
Monite would), the rate limit, the `x-monite-version` check, the bearer token, then the
operation itself. Starlette supplies the request and response objects; routing is a small
table so unknown paths and wrong methods answer in Monite's JSON error shape.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import json
import math
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from . import _rules
from ._faults import Fault, Faults
from ._state import VERIFIED, Domain, State

BASE_PATH = "/v1"
STALE_TOKEN_MESSAGE = "The token has been revoked, expired or not found."  # noqa: S105 - not a secret
KNOWN_VERSIONS = ("2025-06-23", "2024-05-25", "2024-01-31", "2023-09-01", "2023-06-04")
# Up to this version Monite answered a created domain with 200 instead of 201.
_LAST_VERSION_CREATING_WITH_200 = "2023-09-01"
_REDACTED = "[redacted]"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
_SECRET_FIELDS = frozenset({"client_secret", "token", "access_token"})
_HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


class ConnectionDropped(Exception):
    """Raised by the app, in process only, when a fault drops the connection.

    `FakeMonite.transport()` turns it into `httpx2.RemoteProtocolError`, as a real socket would.
    """


@dataclass(frozen=True)
class Settings:
    """How the fake behaves; see `FakeMonite` for each knob."""

    client_id: str
    client_secret: str
    token_lifetime: float
    stale_token_status: int
    verify_after: int
    rate_limit: int | None
    versions: tuple[str, ...]
    clock: Callable[[], float]
    log_limit: int = 10_000


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, secrets replaced by `[redacted]`.

    `status` is what the fake answered, None when it dropped the connection.
    """

    method: str
    path: str
    operation_id: str | None
    headers: dict[str, str]
    json: Any
    status: int | None


@dataclass(frozen=True)
class _Operation:
    operation_id: str
    method: str
    pattern: re.Pattern[str]


_OPERATIONS = (
    _Operation("post_auth_token", "POST", re.compile(r"/auth/token")),
    _Operation("post_auth_revoke", "POST", re.compile(r"/auth/revoke")),
    _Operation("get_mailbox_domains", "GET", re.compile(r"/mailbox_domains")),
    _Operation("post_mailbox_domains", "POST", re.compile(r"/mailbox_domains")),
    _Operation("delete_mailbox_domains_id", "DELETE", re.compile(r"/mailbox_domains/(?P<domain_id>[^/]+)")),
    _Operation(
        "post_mailbox_domains_id_verify", "POST", re.compile(r"/mailbox_domains/(?P<domain_id>[^/]+)/verify")
    ),
)


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


def _error(status: int, message: str, *, type_: str | None = None) -> _Reply:
    error: dict[str, str] = {"message": message}
    if type_ is not None:
        error["type"] = type_
    return _Reply(status, {"error": error})


class MoniteApp:
    """The ASGI callable; holds the fake's state. Use it through `FakeMonite`."""

    def __init__(self, settings: Settings) -> None:
        self.settings: Settings = settings
        self.state: State = State()
        self.faults: Faults = Faults()
        # Bounded: a fake served for hours (the command, a benchmark) must not grow forever.
        self.log: collections.deque[RecordedRequest] = collections.deque(maxlen=settings.log_limit)
        # Handlers are synchronous between awaits; the lock matters when the app is served
        # from another thread (serve_in_thread) while a test reads or scripts it.
        self.lock: threading.Lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw_body = await request.body()
        operation, path_params = _route(request.method, request.url.path)
        # Recorded before its answer (or the dropped connection) goes out: a test that has the
        # answer finds the request in `requests` already (the server may run in another thread).
        recorded = False
        try:
            fault = self.faults.take(operation.operation_id) if operation else None
            if fault is not None and fault.delay:
                await anyio.sleep(fault.delay)
            if fault is not None and fault.drop_connection:
                recorded = self._record(request, operation, raw_body, None)
                await _drop_connection(send)
                return
            with self.lock:
                client = self._client_of(operation, request, raw_body)
            reply = self._answer(request, operation, path_params, raw_body, fault, client)
            response = self._render(request, reply, fault, client)
            recorded = self._record(request, operation, raw_body, response.status_code)
            await response(scope, receive, send)
        finally:
            if not recorded:  # failed before an answer (or cancelled): recorded without a status
                self._record(request, operation, raw_body, None)

    def _answer(
        self,
        request: Request,
        operation: _Operation | None,
        path_params: dict[str, str],
        raw_body: bytes,
        fault: Fault | None,
        client: str,
    ) -> _Reply:
        if operation is None:
            allowed = _allowed_methods(request.url.path)
            if allowed:
                reply = _error(405, "Method Not Allowed")
                reply.headers = {"allow": ", ".join(allowed)}
                return reply
            return _error(404, "Not Found")
        if fault is not None and fault.status is not None:
            reply = _error(fault.status, f"Scripted failure ({fault.status})", type_="fake_fault")
            if fault.retry_after is not None:
                reply.headers = {"retry-after": str(fault.retry_after)}
            return reply
        with self.lock:
            limited = self._rate_limited(client)
            if limited is not None:
                return limited
            version = request.headers.get("x-monite-version")
            if version is None or not _rules.is_version(version):
                return _error(
                    400, "The x-monite-version header is missing or malformed", type_="missing_api_version"
                )
            if version not in self.settings.versions:
                return _error(400, f"Unsupported API version {version}", type_="unsupported_api_version")
            if operation.operation_id != "post_auth_token":
                refused = self._check_bearer(request.headers.get("authorization"))
                if refused is not None:
                    return refused
            try:
                return self._dispatch(operation.operation_id, path_params, raw_body, version)
            except _rules.InvalidRequest as invalid:
                return _Reply(422, {"detail": invalid.problems})

    def _dispatch(
        self, operation_id: str, path_params: dict[str, str], raw_body: bytes, version: str
    ) -> _Reply:
        if operation_id == "post_auth_token":
            return self._obtain_token(_rules.check_token_request(_rules.parse_json(raw_body)))
        if operation_id == "post_auth_revoke":
            return self._revoke_token(_rules.check_revoke_request(_rules.parse_json(raw_body)))
        if operation_id == "get_mailbox_domains":
            return _Reply(200, {"data": [domain.as_json() for domain in self.state.domains.values()]})
        if operation_id == "post_mailbox_domains":
            body = _rules.check_domain_request(_rules.parse_json(raw_body))
            return self._create_domain(body["domain"], version)
        domain_id = _rules.parse_uuid(path_params["domain_id"], loc=["path", "domain_id"])
        domain = self.state.domains.get(domain_id)
        if domain is None:
            return _error(404, f"Mailbox domain {domain_id} not found", type_="not_found")
        if operation_id == "delete_mailbox_domains_id":
            del self.state.domains[domain_id]
            return _Reply(204)
        return self._verify_domain(domain)

    def _obtain_token(self, body: dict[str, Any]) -> _Reply:
        self.state.token_requests += 1
        if not self._credentials_match(body["client_id"], body["client_secret"]):
            return _error(401, "Wrong client_id or client_secret", type_="unauthorized")
        if body["grant_type"] != "client_credentials":
            return _error(401, "The fake Monite issues partner tokens only", type_="unauthorized")
        lifetime = self.settings.token_lifetime
        token = self.state.issue_token(
            now=self.settings.clock(), lifetime=lifetime, client_id=body["client_id"]
        )
        # Whole seconds, rounded down: a client never believes a token lives longer than it does.
        return _Reply(200, {"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"})

    def _revoke_token(self, body: dict[str, Any]) -> _Reply:
        # Like RFC 7009, the answer does not tell whether the token existed or the credentials
        # matched; Monite documents no error status for this call besides 422.
        issued = self.state.tokens.get(body["token"])
        if issued is not None and self._credentials_match(body["client_id"], body["client_secret"]):
            issued.revoked = True
        return _Reply(200, {"message": "Token revoked"})

    def _create_domain(self, name: str, version: str) -> _Reply:
        name = name.lower()
        if self.state.find_domain(name) is not None:
            return _error(409, f"Mailbox domain {name} already exists", type_="conflict")
        domain = Domain(name=name)
        self.state.domains[domain.id] = domain
        return _Reply(200 if version <= _LAST_VERSION_CREATING_WITH_200 else 201, domain.as_json())

    def _verify_domain(self, domain: Domain) -> _Reply:
        domain.verify_calls += 1
        if domain.status != VERIFIED and domain.verify_calls >= self.settings.verify_after:
            domain.status = VERIFIED
            domain.last_updated_at = datetime.now(UTC)
        return _Reply(200, domain.verify_json())

    def _credentials_match(self, client_id: str, client_secret: str) -> bool:
        id_ok = hmac.compare_digest(client_id.encode(), self.settings.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.settings.client_secret.encode())
        return id_ok and secret_ok

    def _check_bearer(self, authorization: str | None) -> _Reply | None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(401, "Not authenticated", type_="unauthorized")
        issued = self.state.tokens.get(token.strip())
        if issued is None or not issued.usable(self.settings.clock()):
            return _error(self.settings.stale_token_status, STALE_TOKEN_MESSAGE, type_="unauthorized")
        return None

    def _client_of(self, operation: _Operation | None, request: Request, raw_body: bytes) -> str:
        # Whose budget a request spends: the client id a token request names, or the client
        # its bearer token was issued to; "" when neither says (unknown paths, bad tokens).
        if operation is not None and operation.operation_id == "post_auth_token":
            try:
                body = json.loads(raw_body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return ""
            client_id = body.get("client_id") if isinstance(body, dict) else None
            return client_id if isinstance(client_id, str) else ""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        issued = self.state.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return issued.client_id if issued is not None else ""

    def _rate_limited(self, client: str) -> _Reply | None:
        limit = self.settings.rate_limit
        if limit is None:
            return None
        now = self.settings.clock()
        start, count = self.state.windows.get(client, (0.0, 0))
        if now - start >= 1.0:
            start, count = now, 0
        count += 1
        self.state.windows[client] = (start, count)
        if count <= limit:
            return None
        reply = _error(429, "Too many requests", type_="rate_limited")
        wait = max(1, math.ceil(start + 1.0 - now))
        reply.headers = {"retry-after": str(wait)}
        return reply

    def _rate_limit_headers(self, client: str) -> dict[str, str]:
        limit = self.settings.rate_limit
        if limit is None:
            return {}
        with self.lock:
            start, count = self.state.windows.get(client, (0.0, 0))
            remaining = max(0, limit - count)
            reset = max(0, math.ceil(start + 1.0 - self.settings.clock()))
        # As Monite documents them: the IETF draft's three, and the per-second pair.
        return {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
            "x-ratelimit-limit-second": str(limit),
            "x-ratelimit-remaining-second": str(remaining),
        }

    def _render(self, request: Request, reply: _Reply, fault: Fault | None, client: str) -> Response:
        headers = {
            "x-request-id": str(uuid.uuid4()),
            **self._rate_limit_headers(client),
            **(reply.headers or {}),
        }
        version = request.headers.get("x-monite-version")
        if version is not None and _rules.is_version(version):
            headers["x-monite-version"] = version
        body = reply.body
        if fault is not None and body is not None:
            if fault.unknown_enum:
                body = _with_unknown_enums(body)
            if fault.missing_field is not None:
                body = _without_field(body, fault.missing_field)
        if fault is not None and fault.non_json:
            return Response(_HTML_PAGE, status_code=reply.status, headers=headers, media_type="text/html")
        if body is None:
            return Response(status_code=reply.status, headers=headers)
        return JSONResponse(body, status_code=reply.status, headers=headers)

    def _record(
        self, request: Request, operation: _Operation | None, raw_body: bytes, status: int | None
    ) -> bool:
        """Add the request to the log; True (it is recorded)."""
        headers = {
            name: _REDACTED if name in _SECRET_HEADERS else value for name, value in request.headers.items()
        }
        entry = RecordedRequest(
            method=request.method,
            path=request.url.path,
            operation_id=operation.operation_id if operation else None,
            headers=headers,
            json=_redacted_json(raw_body),
            status=status,
        )
        with self.lock:
            self.log.append(entry)
        return True


def _route(method: str, path: str) -> tuple[_Operation | None, dict[str, str]]:
    if not path.startswith(BASE_PATH + "/"):
        return None, {}
    relative = path.removeprefix(BASE_PATH)
    for operation in _OPERATIONS:
        match = operation.pattern.fullmatch(relative)
        if match is not None and operation.method == method:
            return operation, match.groupdict()
    return None, {}


def _allowed_methods(path: str) -> list[str]:
    relative = path.removeprefix(BASE_PATH) if path.startswith(BASE_PATH + "/") else None
    if relative is None:
        return []
    return sorted({op.method for op in _OPERATIONS if op.pattern.fullmatch(relative)})


async def _drop_connection(send: Send) -> None:
    # uvicorn hands the app a bound method of its request cycle, which owns the socket's
    # transport: closing it ends the connection with no answer at all. Other servers (and
    # httpx2.ASGITransport) get an exception; FakeMonite.transport() maps it to httpx2's error.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.BaseTransport):
        raise ConnectionDropped("the fake Monite dropped the connection as scripted")
    transport.close()
    # Let connection_lost run so uvicorn sees the client gone and sends no 500 of its own.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


async def _lifespan(receive: Receive, send: Send) -> None:
    # The protocol has two messages, startup then shutdown; nothing to set up or tear down.
    for _ in range(2):
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _with_unknown_enums(body: Any) -> Any:
    if isinstance(body, dict):
        return {
            key: "SRV" if key == "record_type" else _with_unknown_enums(value) for key, value in body.items()
        }
    if isinstance(body, list):
        return [_with_unknown_enums(item) for item in body]
    return body


def _without_field(body: Any, dotted: str) -> Any:
    body = json.loads(json.dumps(body))  # a deep copy, so the stored domain is untouched
    targets = body["data"] if isinstance(body, dict) and isinstance(body.get("data"), list) else [body]
    *parents, leaf = dotted.split(".")
    for target in targets:
        for parent in parents:
            target = target.get(parent) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(leaf, None)
    return body


def _redacted_json(raw_body: bytes) -> Any:
    try:
        body = json.loads(raw_body) if raw_body else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(body, dict):
        return {key: _REDACTED if key in _SECRET_FIELDS else value for key, value in body.items()}
    return body
