"""`python -m monite_async.testing` tells you everything you need to point a client at it."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading

from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

LINES = 7  # the banner, client ID, client secret, a hint, three export lines


def test_the_command_prints_id_secret_and_the_three_export_lines() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "monite_async.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        banner = [lines.get(timeout=20) for _ in range(LINES)]  # bounded wait per line
    finally:
        process.terminate()
        process.wait(timeout=10)

    exports = dict(line[len("export ") :].split("=", 1) for line in banner if line.startswith("export "))
    assert f"client ID:     {DEFAULT_CLIENT_ID}" in banner
    assert f"client secret: {DEFAULT_CLIENT_SECRET}" in banner
    assert exports.keys() == {"MONITE_CLIENT_ID", "MONITE_CLIENT_SECRET", "MONITE_BASE_URL"}
    assert exports["MONITE_CLIENT_ID"] == DEFAULT_CLIENT_ID
    assert exports["MONITE_CLIENT_SECRET"] == DEFAULT_CLIENT_SECRET
    port = exports["MONITE_BASE_URL"].removeprefix("http://127.0.0.1:").removesuffix("/v1")
    assert port.isdigit(), exports
    assert int(port) > 0  # the port it bound, not the 0 it was given
    assert exports["MONITE_BASE_URL"] in banner[0]


def test_the_pasted_exports_work_with_a_client() -> None:
    # What a user does next: paste the exports, run code with the default MoniteClient().
    process = subprocess.Popen(
        [sys.executable, "-m", "monite_async.testing", "--port", "0", "--client-secret", "s3cret-of-mine"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in range(LINES)]
        env = dict(os.environ)
        env.update(line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export "))
        program = (
            "import asyncio\nfrom monite_async import MoniteClient\n"
            "async def main():\n"
            "    async with MoniteClient() as m:\n"
            "        print(await m.mailbox_domains.list())\n"
            "asyncio.run(main())\n"
        )
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=30, check=False
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_second_fake_on_a_busy_port_says_to_pass_port_0() -> None:
    # What a user meets: one fake runs, a second is started on the same port.
    first = subprocess.Popen(
        [sys.executable, "-m", "monite_async.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert first.stdout is not None
        banner = first.stdout.readline()  # "Fake Monite at http://127.0.0.1:PORT/v1; ..."
        port = banner.split("http://127.0.0.1:", 1)[1].split("/", 1)[0]
        assert port.isdigit(), banner
        second = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "monite_async.testing", "--port", port],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        first.terminate()
        first.wait(timeout=10)
    assert second.returncode == 2
    assert second.stdout == ""
    assert second.stderr == (
        f"error: port {port} on 127.0.0.1 is already in use (another fake Monite?): "
        "pass --port 0 to let the system pick a free port, or another --port\n"
    )
    assert "Traceback" not in second.stderr
