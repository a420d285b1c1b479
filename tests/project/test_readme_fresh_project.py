"""A newcomer's test suite: a fresh project, docs/testing.md's files, that page's install line.

In a temporary folder: a copy of this checkout under a name of no meaning (the page's
install line, `pip install '.[testing]'`, runs inside the checkout), a fresh virtual
environment, that exact install line (a real, non-editable install), and a project
holding exactly the page's `pyproject.toml`, `conftest.py`, `test_domains.py` and
`test_domains_sync.py`. `pytest -W error` there must pass: no warning either. About
10-30 s, most of it pip (its cache helps).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from readme_blocks import ROOT, code_blocks, file_name_of, python_blocks, section

PAGE = "docs/testing.md"
SECTION = "## With pytest"
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".*_cache", "build", "dist")


def readme_install_line() -> list[str]:
    """The install command the testing section gives, as argv."""
    (line,) = re.findall(r"`(pip install '[^'`]+')`", section(SECTION, PAGE))
    return shlex.split(line)


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
    (config,) = code_blocks("toml", SECTION, PAGE)
    (project / "pyproject.toml").write_text(config)
    for block in python_blocks(SECTION, PAGE):
        (project / file_name_of(block)).write_text(block)
    assert sorted(p.name for p in project.iterdir()) == [
        "conftest.py",
        "pyproject.toml",
        "test_domains.py",
        "test_domains_sync.py",
    ]

    pytest = [str(bin_dir / "python"), "-m", "pytest", "-W", "error", "-p", "no:cacheprovider"]
    result = run(pytest, project, 120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "configfile: pyproject.toml" in result.stdout  # the page's, and no other above it
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
