#!/usr/bin/env python3
"""Pinned npm tools (Prism, Redocly CLI) in the ignored folder .tools/node, and the OpenAPI lint.

    python scripts/node_tools.py install          # both tools, unless already at the pinned versions
    python scripts/node_tools.py path prism       # install if needed, print the executable's path
    python scripts/node_tools.py lint-openapi     # install if needed, lint openapi/mailbox_domains.yaml

Exit codes: 0 fine, 1 lint problems or a failed install, 3 Node.js or npm not found (the
tests skip on 3, and only on 3).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = ROOT / ".tools" / "node"
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"
REDOCLY_CONFIG = ROOT / "scripts" / "redocly.yaml"

# Exact versions. Prism 5.14.2 is the newest release whose declared engines include Node 20
# (5.15.10 and later ask for Node >= 24.14).
PACKAGES = {
    "prism": ("@stoplight/prism-cli", "5.14.2"),
    "redocly": ("@redocly/cli", "2.77.0"),
}
NO_NODE = 3
_INSTALL_TIMEOUT = 600
_LINT_TIMEOUT = 300
# Redocly's stylish format: "  118:29  warning  rule  message" and "You have 1 warning."
_WARNING = re.compile(r"^\s*\d+:\d+\s+warning\s|\b\d+ warnings?\b", re.MULTILINE)
_QUIET_ENV = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_UPDATE_NOTIFIER": "1",
    "npm_config_update_notifier": "false",
}


class ToolError(Exception):
    """A tool could not be installed or run; `code` is the exit code to use."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def installed_version(tool: str) -> str | None:
    package, _ = PACKAGES[tool]
    manifest = PREFIX / "node_modules" / package / "package.json"
    try:
        version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None
    return version if isinstance(version, str) else None


def executable(tool: str) -> Path:
    return PREFIX / "node_modules" / ".bin" / tool


def install() -> None:
    """Install every pinned tool not already present at its version (one installer at a time)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise ToolError(
            "Node.js and npm are needed for Prism and Redocly, and were not found on PATH", NO_NODE
        )
    PREFIX.mkdir(parents=True, exist_ok=True)
    with (PREFIX / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs and `make lint` share the folder
        wanted = [
            f"{package}@{version}"
            for tool, (package, version) in PACKAGES.items()
            if installed_version(tool) != version or not executable(tool).exists()
        ]
        if not wanted:
            return
        print(f"installing {' '.join(wanted)} into {PREFIX.relative_to(ROOT)}", file=sys.stderr)
        command = [
            "npm",
            "install",
            "--prefix",
            str(PREFIX),
            "--no-audit",
            "--no-fund",
            "--save-exact",
            *wanted,
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT, env=_env(), check=False
            )
        except subprocess.TimeoutExpired:
            raise ToolError(f"npm install took longer than {_INSTALL_TIMEOUT} s") from None
        if result.returncode != 0:
            raise ToolError(f"npm install failed ({result.returncode}):\n{result.stderr.strip()[-2000:]}")
        for tool, (package, version) in PACKAGES.items():
            if installed_version(tool) != version:
                raise ToolError(f"{package} is not at {version} after npm install")


def lint_openapi(spec: Path = FRAGMENT) -> int:
    """Lint the fragment with Redocly (every problem is an error, examples included)."""
    install()
    command = [
        str(executable("redocly")),
        "lint",
        str(spec),
        "--config",
        str(REDOCLY_CONFIG),
        "--format",
        "stylish",
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=_LINT_TIMEOUT, env=_env(), check=False
        )
    except subprocess.TimeoutExpired:
        raise ToolError(f"redocly lint took longer than {_LINT_TIMEOUT} s") from None
    output = result.stdout + result.stderr
    print(output.strip())
    # A warning fails too: recommended-strict should leave none, so one means a rule slipped.
    if result.returncode != 0 or _WARNING.search(output):
        return 1
    return 0


def _env() -> dict[str, str]:
    return {**os.environ, **_QUIET_ENV}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install the pinned tools")
    path = commands.add_parser("path", help="print a tool's executable, installing first")
    path.add_argument("tool", choices=sorted(PACKAGES))
    lint = commands.add_parser("lint-openapi", help="lint the OpenAPI fragment with Redocly")
    lint.add_argument("spec", nargs="?", type=Path, default=FRAGMENT)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            install()
            return 0
        if args.command == "path":
            install()
            print(executable(args.tool))
            return 0
        return lint_openapi(args.spec)
    except ToolError as exc:
        print(f"node_tools: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
