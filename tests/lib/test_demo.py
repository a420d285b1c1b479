"""`make demo` (python -m monite_async.lib.demo), run as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

_TIMEOUT = 90


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONITE_")}
    return {**env, **extra}


def test_demo_walks_through_the_fake_and_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monite_async.lib.demo"],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env=_env(),
        check=False,
    )

    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "running against the fake Monite" in out
    assert "Fake Monite listening at http://127.0.0.1:" in out
    # The DNS table: a header and one line per record kind.
    table = [line.split() for line in out.splitlines() if line.startswith("    ")]
    assert ["TYPE", "HOST", "PURPOSE", "VALUE"] in table
    kinds = {(row[0], row[2]) for row in table if row and row[0] in ("TXT", "MX", "CNAME")}
    assert kinds == {("TXT", "SPF"), ("TXT", "DKIM"), ("CNAME", "tracking"), ("MX", "receiving")}
    # The same records as zone-file lines: NAME TTL IN TYPE DATA, names fully qualified.
    zone = [line.split("\t") for line in out.splitlines() if line.startswith("    ") and "\tIN\t" in line]
    assert [(row[0].strip(), row[3]) for row in zone] == [
        ("mail.example.com.", "TXT"),
        (zone[1][0].strip(), "TXT"),
        ("email.mail.example.com.", "CNAME"),
        ("mail.example.com.", "MX"),
        ("mail.example.com.", "MX"),
    ]
    assert zone[1][0].strip().endswith("._domainkey.mail.example.com.")
    assert zone[3][4] == "10 mxa.mailgun.org."
    # The SDK's retry log line after the scripted 500, and the refresh after the expired token.
    assert "log: monite_async INFO Retrying GET /v1/mailbox_domains after HTTP 500" in out
    assert "the SDK refreshed it (1 new token request)" in out
    assert "log: monite_async INFO Fetched a Monite access token (Monite refused the token)" in out
    assert "status: verified" in out
    assert out.rstrip().endswith("Done.")
    assert result.stderr == ""


def test_demo_failure_is_one_line_without_traceback(unused_tcp_port: int) -> None:
    # Credentials set, so it goes to MONITE_BASE_URL: a loopback port nobody listens on.
    env = _env(
        MONITE_CLIENT_ID="6f1d4c2e-8a3b-4e5f-9c7d-0b1a2c3d4e5f",
        MONITE_CLIENT_SECRET="not-a-real-secret",
        MONITE_BASE_URL=f"http://127.0.0.1:{unused_tcp_port}/v1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "monite_async.lib.demo"],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env=env,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("demo failed: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "not-a-real-secret" not in result.stderr + result.stdout
