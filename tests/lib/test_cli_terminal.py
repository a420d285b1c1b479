"""`monite-async` in a real terminal (tmux: `send-keys`, `capture-pane`): the live line of
`verify --wait` is one line redrawn in place, and `delete` asks before it deletes.

The tmux server gets its own socket (`-L`), no config file, and is killed at the end; the
fake Monite serves on a loopback port from a thread of this test. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monite_async.testing import FakeMonite

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
DOMAIN = "mail.example.com"


class Terminal:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        assert TMUX is not None
        result = subprocess.run(  # noqa: S603
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            env=env,
        )
        return result.stdout

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "cli", "-l", text)
        self.tmux("send-keys", "-t", "cli", "Enter")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "cli")

    def wait_for(self, condition: Callable[[str], bool], *, seconds: float = 30.0) -> str:
        deadline = time.monotonic() + seconds
        screen = self.screen()
        while not condition(screen):
            assert time.monotonic() < deadline, f"timed out; the terminal shows:\n{screen}"
            time.sleep(0.1)
            screen = self.screen()
        return screen


def ended(name: str) -> Callable[[str], bool]:
    """Whether the screen has the line `NAME=<exit code>` (not the typed `echo NAME=$?`)."""
    return lambda screen: re.search(rf"^{name}=\d+$", screen, flags=re.MULTILINE) is not None


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, FakeMonite]]:
    fake = FakeMonite(verify_after=4)
    bin_dir = Path(sys.executable).parent
    with fake.serve_in_thread() as base_url:
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(tmp_path),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "MONITE_CLIENT_ID": fake.client_id,
            "MONITE_CLIENT_SECRET": fake.client_secret,
            "MONITE_BASE_URL": base_url,
        }
        term = Terminal(f"monite-test-{secrets.token_hex(4)}")
        term.tmux(
            "new-session", "-d", "-s", "cli", "-x", "160", "-y", "40", "bash --norc --noprofile", env=env
        )
        try:
            term.wait_for(lambda screen: screen.strip() != "")  # the prompt
            yield term, fake
        finally:
            term.tmux("kill-server")


def test_verify_wait_shows_one_live_line_then_the_result(terminal: tuple[Terminal, FakeMonite]) -> None:
    term, fake = terminal
    term.type(f"monite-async domains create {DOMAIN} > /dev/null; echo CREATED=$?")
    term.wait_for(ended("CREATED"))
    term.tmux("send-keys", "-t", "cli", "clear", "Enter")
    term.wait_for(lambda screen: "CREATED" not in screen)

    term.type(f"monite-async domains verify {DOMAIN} --wait --interval 0.7; echo EXIT=$?")
    live = term.wait_for(lambda screen: "2 check(s), last status waiting_to_be_verified" in screen)
    assert re.search(r"waiting for verification: \d+ s, 2 check\(s\)", live)
    done = term.wait_for(ended("EXIT"))

    assert re.search(r"^EXIT=0$", done, flags=re.MULTILINE), done
    lines = [line for line in done.splitlines() if line.strip()]
    progress = [line for line in lines if "waiting for verification" in line]
    assert len(progress) == 1, done  # redrawn in place, not one line per check
    assert "4 check(s), last status verified" in progress[0]
    assert re.search(rf"^{re.escape(DOMAIN)}: verified \(4 checks, \d+ s\)$", done, flags=re.MULTILINE)
    assert len(fake.requests_to("post_mailbox_domains_id_verify")) == 4


def test_verify_wait_timing_out_on_a_terminal_exits_1(terminal: tuple[Terminal, FakeMonite]) -> None:
    term, _ = terminal
    term.type(f"monite-async domains create {DOMAIN} > /dev/null; echo CREATED=$?")
    term.wait_for(ended("CREATED"))
    term.type(f"monite-async domains verify {DOMAIN} --wait --timeout 0; echo EXIT=$?")
    done = term.wait_for(ended("EXIT"))
    assert re.search(r"^EXIT=1$", done, flags=re.MULTILINE), done
    assert "1 check(s), last status waiting_to_be_verified" in done
    assert f"{DOMAIN}: not verified within 0 s; last status waiting_to_be_verified after 1 check(s)" in done
    assert "Traceback" not in done


def test_delete_asks_first_on_a_terminal(terminal: tuple[Terminal, FakeMonite]) -> None:
    term, fake = terminal
    term.type(f"monite-async domains create {DOMAIN} > /dev/null; echo CREATED=$?")
    term.wait_for(ended("CREATED"))
    domain_id = fake.domains[0]["id"]

    term.type(f"monite-async domains delete {DOMAIN}; echo FIRST=$?")
    prompt = f"Delete the mailbox domain {DOMAIN} ({domain_id})? [y/N]:"
    term.wait_for(lambda screen: prompt in screen)
    term.type("n")
    declined = term.wait_for(ended("FIRST"))
    assert "Aborted!" in declined
    assert re.search(r"^FIRST=1$", declined, flags=re.MULTILINE), declined
    assert len(fake.domains) == 1

    term.type(f"monite-async domains delete {DOMAIN}; echo SECOND=$?")
    term.wait_for(lambda screen: screen.count(prompt) == 2)
    term.type("y")
    accepted = term.wait_for(ended("SECOND"))
    assert f"deleted {DOMAIN} ({domain_id})" in accepted
    assert re.search(r"^SECOND=0$", accepted, flags=re.MULTILINE), accepted
    assert fake.domains == []
