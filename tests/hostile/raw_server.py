"""A hostile HTTP/1.1 server on 127.0.0.1 that a test controls byte by byte.

tests/loopback_server.py plays a well-behaved Monite and can drop or cut an answer; this one
sends exactly the bytes a test scripts (a broken status line, two answers for one request,
one byte every half second), for tests/hostile/. Plain threads and sockets: nothing in it
parses or repairs what it sends.

    server = RawServer()
    server.script("GET", "/mailbox_domains", Answer([head(200, body=b"{}"), b"HTTP/1.1 200 OK\\r\\n..."]))
    with server:
        ...  # the first GET /v1/mailbox_domains gets those bytes, every later one the default

An `Answer` is a list of steps: bytes to send, or a float (seconds to sleep before the next
step). Bytes may hold placeholders the server fills in per request: `{bearer}` (the token the
request carried), `{secret}` (the client secret), `{new_token}` (a token it issues and adds to
`issued`). Unscripted requests get the default, Monite-like answers: a token for POST
/auth/token, `{"data": []}` with `x-request-id: req-N` for GET /mailbox_domains (`answered_ids`
records each N sent, so a test can tell which answer the client got).

Bounded everywhere: every socket has a timeout, a trickle never outlasts `MAX_STEP_SLEEP`
per step, and `close()` ends every connection it opened.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import socket
import threading
import time
import uuid

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "Answer", "RawServer", "head", "token_body"]

CLIENT_ID = "4f1e2d3c-5b6a-4789-8abc-def012345678"
CLIENT_SECRET = "hostile-client-secret-0123456789"
BASE_PATH = "/v1"
MAX_STEP_SLEEP = 5.0
_SOCKET_TIMEOUT = 15.0
_MAX_HEAD = 64 * 1024
_PLACEHOLDERS = (b"{bearer}", b"{secret}", b"{new_token}")


def head(status: int | bytes, *headers: tuple[str, str], body: bytes = b"", length: bool = True) -> bytes:
    """A status line (with a reason when `status` is an int), headers, and `body`;
    `content-length` added unless `length` is False."""
    line = status if isinstance(status, bytes) else f"HTTP/1.1 {status} X".encode()
    # A placeholder in the body changes its length when filled in: `{auto}` is fixed then.
    size = "{auto}" if any(p in body for p in _PLACEHOLDERS) else str(len(body))
    fields = list(headers) + ([("content-length", size)] if length else [])
    return line + b"\r\n" + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in fields) + b"\r\n" + body


@dataclasses.dataclass
class Answer:
    """What the server does for one request: `steps` (bytes sent, floats slept), then it keeps
    the connection for the next request, unless `close`."""

    steps: list[bytes | float]
    close: bool = False


@dataclasses.dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class RawServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.lock = threading.Lock()
        self.issued: list[str] = []  # every token it handed out, scripted ones included
        self.requests: list[Request] = []
        self.answered_ids: list[str] = []  # the x-request-id of each default mailbox answer
        self._scripts: dict[tuple[str, str], collections.deque[Answer]] = collections.defaultdict(
            collections.deque
        )
        self._persistent: dict[tuple[str, str], Answer] = {}
        self._ids = itertools.count(1)
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="raw-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{BASE_PATH}"

    def __enter__(self) -> RawServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stopping.set()
        self._acceptor.join(5)
        self._listener.close()
        with self.lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(MAX_STEP_SLEEP + 1)

    # -- scripting ------------------------------------------------------------------------

    def script(self, method: str, path: str, *answers: Answer) -> None:
        """The next requests to `method path` (without /v1) get `answers`, in order."""
        with self.lock:
            self._scripts[(method, BASE_PATH + path)].extend(answers)

    def always(self, method: str, path: str, answer: Answer | None) -> None:
        """Every request to `method path` gets `answer` until `always(..., None)`."""
        with self.lock:
            if answer is None:
                self._persistent.pop((method, BASE_PATH + path), None)
            else:
                self._persistent[(method, BASE_PATH + path)] = answer

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if (r.method, r.path) == (method, BASE_PATH + path))

    def reset(self) -> None:
        """Back to the default answers everywhere (what was scripted and not used is dropped)."""
        with self.lock:
            self._scripts.clear()
            self._persistent.clear()

    def secrets(self) -> list[str]:
        with self.lock:
            return [CLIENT_SECRET, *self.issued]

    # -- serving --------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(_SOCKET_TIMEOUT)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self.lock:
                self._sockets.append(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stopping.is_set():
                request, buffer = _read_request(conn, buffer)
                if request is None:
                    return
                answer = self._answer(request)
                for step in answer.steps:
                    if isinstance(step, float):
                        if self._stopping.wait(min(step, MAX_STEP_SLEEP)):
                            return
                    else:
                        conn.sendall(self._fill(step, request))
                if answer.close:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, request: Request) -> Answer:
        key = (request.method, request.path)
        with self.lock:
            self.requests.append(request)
            scripted = self._scripts.get(key)
            if scripted:
                return scripted.popleft()
            if key in self._persistent:
                return self._persistent[key]
        return self._default(request)

    def _default(self, request: Request) -> Answer:
        if request.path == BASE_PATH + "/auth/token":
            return Answer([head(200, ("content-type", "application/json"), body=token_body())])
        if request.path == BASE_PATH + "/mailbox_domains" and request.method == "GET":
            answer_id = f"req-{next(self._ids)}"
            with self.lock:
                self.answered_ids.append(answer_id)
            headers = (("content-type", "application/json"), ("x-request-id", answer_id))
            return Answer([head(200, *headers, body=b'{"data": []}')])
        return Answer([head(404, ("content-type", "application/json"), body=b'{"error": {"message": "no"}}')])

    def _fill(self, data: bytes, request: Request) -> bytes:
        if b"{" not in data:
            return data
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        data = data.replace(b"{bearer}", bearer.encode()).replace(b"{secret}", CLIENT_SECRET.encode())
        while b"{new_token}" in data:
            token = f"hostile-token-{uuid.uuid4().hex}"
            with self.lock:
                self.issued.append(token)
            data = data.replace(b"{new_token}", token.encode(), 1)
        return _fix_length(data)


def _fix_length(data: bytes) -> bytes:
    # A placeholder changed the body's length: `content-length: {auto}` stands for the right one.
    if b"content-length: {auto}" not in data:
        return data
    head_part, _, body = data.partition(b"\r\n\r\n")
    return head_part.replace(b"{auto}", str(len(body)).encode()) + b"\r\n\r\n" + body


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[Request | None, bytes]:
    deadline = time.monotonic() + _SOCKET_TIMEOUT
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HEAD or time.monotonic() > deadline:
            return None, b""
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    raw_head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(buffer) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    body, buffer = buffer[:length], buffer[length:]
    return Request(method, target.split("?", 1)[0], headers, body), buffer


def token_body(expires_in: str = "3600", token: str = "{new_token}") -> bytes:  # noqa: S107
    """A token answer's body; `expires_in` as it is written in the JSON (any text)."""
    return f'{{"access_token": "{token}", "expires_in": {expires_in}, "token_type": "Bearer"}}'.encode()
