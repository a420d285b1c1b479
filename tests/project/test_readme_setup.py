"""docs/domains.md ("Setting up a mailbox domain") works as printed, against the fake.

The page's shell transcript is run command by command in one bash (per part) against
`python -m monite_async.testing` (whose printed `export` lines are used as they are) and a
loopback DNS server (MONITE_DNS_NAMESERVER) that is empty until the transcript's
"publish" comment, when it starts serving what the fake returned. Each command's output
must have the transcript's shape: the same lines once ids, the DKIM selector and key, and
seconds are masked. The page's Python block runs against the fake too.

A user tries the examples in any order against one fake: the transcript runs twice against
the same `python -m monite_async.testing`, with the other pages' programs before, between
(in the other order) and after, and each must work as printed every time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fake_requests import auth
from loopback_dns import LoopbackDNS
from readme_blocks import ROOT, python_blocks

from monite_async.testing import FakeMonite

PAGE = "docs/domains.md"
HEADING = "# Setting up a mailbox domain"
BASH = shutil.which("bash") or "/bin/bash"
MARK = "@@@ next command @@@"
MASKS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\bmx[0-9a-f]{4}\._domainkey"), "<selector>._domainkey"),
    (re.compile(r'p=[^"\s]*"( "[^"]*")*'), 'p=<key>"'),  # the zone: a key in two strings
    (re.compile(r"p=\S+"), "p=<key>"),  # a table: the key cut short
    (re.compile(r"\d+ s\b"), "<n> s"),
    (re.compile(r"[ \t]+"), " "),
]


def transcript() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of the page's ```console block."""
    (block,) = re.findall(r"```console\n(.*?)```", (ROOT / PAGE).read_text(), flags=re.DOTALL)
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def masked(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, replacement in MASKS:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    return out


@pytest.fixture
def fake_command(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`python -m monite_async.testing --port 0 --verify-after 2`; the exports it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "monite_async.testing", "--port", "0", "--verify-after", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        exports: dict[str, str] = {}
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while len(exports) < 3 and time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.fullmatch(r"export (MONITE_\w+)=(\S+)\n", line)
            if match:
                exports[match.group(1)] = match.group(2)
        assert sorted(exports) == ["MONITE_BASE_URL", "MONITE_CLIENT_ID", "MONITE_CLIENT_SECRET"]
        yield exports
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_part(commands: list[str], env: dict[str, str], cwd: Path) -> list[list[str]]:
    script = "".join(f'{command}\nrc=$?; echo "{MARK}"; (exit $rc)\n' for command in commands)
    result = subprocess.run(  # noqa: S603
        [BASH, "--norc", "--noprofile", "-c", script + "true"],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = result.stdout.split(f"{MARK}\n")
    assert len(outputs) == len(commands) + 1, result.stdout
    return [output.splitlines() for output in outputs[:-1]]


def run_transcript(env: dict[str, str], cwd: Path) -> None:
    """The transcript, as printed, against the fake of `env`, with a DNS server of its own."""
    steps = transcript()
    publish = next(i for i, (command, _) in enumerate(steps) if command.startswith("#"))
    assert "publish" in steps[publish][0]
    bin_dir = Path(sys.executable).parent
    with LoopbackDNS() as server:
        env = env | {"MONITE_DNS_NAMESERVER": server.address}
        before = run_part([command for command, _ in steps[:publish]], env, cwd)
        listing = subprocess.run(  # noqa: S603
            [str(bin_dir / "monite-async"), "domains", "list", "--json"],
            env=env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        for domain in json.loads(listing.stdout)["data"]:
            server.publish(domain)
        after = run_part([command for command, _ in steps[publish + 1 :]], env, cwd)

    got = [*before, [], *after]
    for (command, expected), output in zip(steps, got, strict=True):
        if command.startswith("#"):
            continue
        assert masked(output) == masked(expected), f"$ {command}\n" + "\n".join(output)


# The other pages' programs that talk to Monite, as (page, heading, index of the block).
PROGRAMS = [
    ("README.md", "## Quickstart", 0),
    ("README.md", "## Quickstart", 1),
    ("docs/trio.md", "# Under trio", 0),
    ("docs/client.md", "## Per-call options, raw responses and a deadline", 0),
    ("docs/tracing.md", "## OpenTelemetry", 0),
]


def run_programs(order: list[tuple[str, str, int]], env: dict[str, str]) -> None:
    for page, heading, index in order:
        program = python_blocks(heading, page)[index]
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"{page} {heading} [{index}]:\n{result.stderr}"


def test_the_transcript_and_the_examples_run_in_any_order_against_one_fake(
    fake_command: dict[str, str], tmp_path: Path
) -> None:
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITE_")}
    env |= fake_command | {"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"}
    run_programs(PROGRAMS, env)
    run_transcript(env, tmp_path)  # its `domains list` shows its own domain alone: they cleaned up
    run_programs(PROGRAMS[::-1], env)  # after the transcript, in the other order
    run_transcript(env, tmp_path)  # and the transcript again, as printed: it deleted its domain


@pytest.mark.fake_monite(verify_after=1)
def test_the_python_example_runs_against_the_fake(fake_monite: FakeMonite, fake_monite_server: str) -> None:
    (block,) = python_blocks(HEADING, PAGE)
    assert "`python setup_domain.py news.example.com`" in (ROOT / PAGE).read_text()
    created = httpx2.post(
        f"{fake_monite_server}/mailbox_domains",
        json={"domain": "news.example.com"},
        headers=auth(fake_monite),
        timeout=10,
    ).json()
    env = {
        **os.environ,
        "MONITE_CLIENT_ID": fake_monite.client_id,
        "MONITE_CLIENT_SECRET": fake_monite.client_secret,
        "MONITE_BASE_URL": fake_monite_server,
    }
    with LoopbackDNS() as server:
        server.publish(created)
        env["MONITE_DNS_NAMESERVER"] = server.address
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", block, "news.example.com"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("; mailbox domain news.example.com")
    assert [line.split()[0] for line in lines if line.startswith(("ok ", "missing ", "different "))] == [
        "ok"
    ] * 5
    assert lines[-1] == "verified"
    assert "Verify check 1 of mailbox domain" in result.stderr
