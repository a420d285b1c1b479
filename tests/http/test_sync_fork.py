"""A MoniteSyncClient copied into a forked child (gunicorn --preload, Celery's prefork pool):
the child opens its own connections and finds no lock the parent's threads held.

Each case runs a small program in a subprocess (forking the multi-threaded pytest process
itself would copy the test server's threads too), against a loopback server of the test's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from loopback_server import CLIENT_ID, CLIENT_SECRET, LoopbackServer, Reply

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")

PRELUDE = """
import json, os, sys, threading, time
from monite_async import MoniteSyncClient

client = MoniteSyncClient(client_id=sys.argv[1], client_secret=sys.argv[2], base_url=sys.argv[3])


def in_child(work):
    pid = os.fork()
    if pid == 0:
        try:
            work()
        except BaseException as exc:
            print(f"child failed: {type(exc).__name__}: {exc}", flush=True)
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
"""


def run(server: LoopbackServer, program: str, *, timeout: float = 30) -> subprocess.Popen[str]:
    source = PRELUDE + textwrap.dedent(program)
    return subprocess.Popen(  # noqa: S603 - our own program, run by our own Python
        # Python 3.12+ warns that forking a process with threads may deadlock: that is the case tested.
        [
            sys.executable,
            "-W",
            "ignore::DeprecationWarning",
            "-c",
            source,
            CLIENT_ID,
            CLIENT_SECRET,
            server.base_url,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_forked_child_opens_its_own_connection_instead_of_sharing_the_parents(
    server: LoopbackServer,
) -> None:
    program = run(
        server,
        """
        assert client.mailbox_domains.list() == []  # a token and a pooled keep-alive connection
        code = in_child(lambda: client.mailbox_domains.list())
        assert client.mailbox_domains.list() == []  # the parent's connection is still its own
        print(json.dumps({"child": code}))
        """,
    )
    out, _ = program.communicate(timeout=30)
    assert program.returncode == 0, out
    assert out.strip().splitlines()[-1] == '{"child": 0}'
    # The parent's one connection (token, list, list) and the child's own: before, the child
    # sent on the parent's socket, and one of the two could read the other's answer.
    assert server.connections_opened == 2
    assert server.count("GET", "/mailbox_domains") == 3
    assert server.count("POST", "/auth/token") == 1  # the token was inherited, still valid


def test_a_token_lock_held_by_a_parents_thread_at_the_fork_is_not_held_in_the_child(
    server: LoopbackServer,
) -> None:
    released = threading.Event()
    server.valid_tokens.add("loopback-held-token")
    held = Reply(
        200,
        json={"access_token": "loopback-held-token", "expires_in": 3600, "token_type": "Bearer"},
        hold=released,
    )
    server.script("POST", "/auth/token", held)  # the parent's first fetch waits on the wire
    program = run(
        server,
        """
        fetching = threading.Thread(target=client.mailbox_domains.list)
        fetching.start()  # takes the token lock and waits for the held token answer
        sys.stdin.readline()  # the test saw the token request arrive: the thread waits in a read
        assert client._core.flow.tokens.lock.free == 0, "the parent's thread does not hold the token lock"
        code = in_child(lambda: client.with_options(deadline=5).mailbox_domains.list())
        print(json.dumps({"child": code}), flush=True)
        fetching.join(10)
        assert not fetching.is_alive()
        """,
    )
    try:
        assert program.stdout is not None
        assert program.stdin is not None
        # Fork only once the parent's thread is blocked reading the answer: forked in the middle
        # of anything else (a first import of a module, say), the child could find Python's own
        # locks held, which no library can help.
        for _ in range(500):
            if server.count("POST", "/auth/token"):
                break
            time.sleep(0.01)
        assert server.count("POST", "/auth/token") == 1
        program.stdin.write("fork\n")
        program.stdin.flush()
        line = program.stdout.readline()  # the child's result, while the parent's fetch is held
        # Before: the child waited for a lock nobody in it would release, until its deadline.
        assert line.strip() == '{"child": 0}', line + program.stdout.read()
    finally:
        released.set()
    out, _ = program.communicate(timeout=30)
    assert program.returncode == 0, out
    assert server.count("POST", "/auth/token") == 2  # the parent's (held) and the child's own
