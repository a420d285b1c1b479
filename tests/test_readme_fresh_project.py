"""A newcomer's test suite: a fresh project, the README's test files, the README's install line.

In a temporary folder: a copy of this checkout under a name of no meaning (the README's
install line, `pip install '.[testing]'`, runs inside the checkout), a fresh virtual
environment, that exact install line (a real, non-editable install), and a project
holding exactly the README's `conftest.py`, `test_domains.py` and `test_domains_sync.py`,
with no pytest configuration. `pytest` there must pass. About 10-30 s, most of it pip
(its cache helps).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from readme_blocks import ROOT, file_name_of, python_blocks

SECTION = "## Testing your app with the fake Monite"
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".*_cache", "build", "dist")


def readme_install_line() -> list[str]:
    """The install command the testing section gives, as argv."""
    text = readme_section()
    (line,) = re.findall(r"`(pip install '[^'`]+')`", text)
    return shlex.split(line)


def readme_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"\n{SECTION}\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def run(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603


def test_the_readme_testing_example_passes_in_a_fresh_project(tmp_path: Path) -> None:
    install = readme_install_line()
    assert install[:2] == ["pip", "install"]
    assert install[2] == ".[testing]"
    checkout = tmp_path / "a-checkout-of-any-name"
    shutil.copytree(ROOT, checkout, ignore=NOT_COPIED)

    venv = run([sys.executable, "-m", "venv", str(tmp_path / "venv")], tmp_path, 120)
    assert venv.returncode == 0, venv.stderr
    bin_dir = tmp_path / "venv" / "bin"
    # The venv's own pip, run as `python -m pip` so no other pip on PATH can answer.
    installed = run([str(bin_dir / "python"), "-m", *install, "--quiet"], checkout, 300)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    project = tmp_path / "project"
    project.mkdir()
    for block in python_blocks(SECTION):
        (project / file_name_of(block)).write_text(block)
    assert sorted(p.name for p in project.iterdir()) == [
        "conftest.py",
        "test_domains.py",
        "test_domains_sync.py",
    ]

    result = run([str(bin_dir / "python"), "-m", "pytest", "-p", "no:cacheprovider"], project, 120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "configfile:" not in result.stdout  # no pytest configuration anywhere above it
    assert "warning" not in result.stdout.lower(), result.stdout
