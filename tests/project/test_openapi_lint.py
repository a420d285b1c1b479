"""The fragment lints clean with Redocly CLI (recommended-strict, examples checked), and the lint bites."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"
NODE_TOOLS = ROOT / "scripts" / "node_tools.py"
NO_NODE = 3


def _lint(spec: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed: the Redocly lint needs them")
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(NODE_TOOLS), "lint-openapi", str(spec)],
        capture_output=True,
        text=True,
        timeout=660,
        check=False,
    )
    assert result.returncode != NO_NODE, result.stderr
    return result


def test_fragment_lints_clean() -> None:
    result = _lint(FRAGMENT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Your API description is valid" in result.stdout


@pytest.mark.parametrize(
    ("original", "broken", "rule"),
    [
        ("expires_in: 86400\n", "expires_in: soon\n", "no-invalid-media-type-examples"),
        ("        example: '2024-05-25'\n", "        example: 25-05-2024\n", "no-invalid-parameter-examples"),
        ("          - 86400\n", "          - eighty\n", "no-invalid-schema-examples"),
    ],
)
def test_an_example_that_contradicts_its_schema_fails(
    tmp_path: Path, original: str, broken: str, rule: str
) -> None:
    text = FRAGMENT.read_text(encoding="utf-8")
    assert original in text
    copy = tmp_path / "mailbox_domains.yaml"
    copy.write_text(text.replace(original, broken, 1), encoding="utf-8")

    result = _lint(copy)

    assert result.returncode == 1
    assert rule in result.stdout
