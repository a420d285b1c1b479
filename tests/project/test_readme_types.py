"""Every Python block of the README and the docs pages type-checks as a user's code, and is ruff-clean.

Each block is written, exactly as its page has it, into a temporary folder outside the
checkout and checked there with `mypy --strict` and strict pyright against the installed
`monite_async` (editable, from `make install`: see tests/readme_blocks.py). No block may
use `type: ignore`, `cast` or `Any`.

Two sections show code that only exists in another project; their blocks are checked
where it exists, not here:
- "A new operation arrives typed" (docs/regenerating.md) uses `monite_generated.api.mailboxes`, which
  only a project regenerated with `GET /mailboxes` has: tests/project/test_new_operation.py
  type-checks it in that project.
- "Vendoring" (docs/vendoring.md) imports `host_sdk._vendor.monite`: tests/project/test_vendor.py
  vendors a copy under that name and type-checks the block against it.
This test only checks that those two are the only sections it leaves to them, so a new
example, on any page, cannot go unchecked.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from readme_blocks import (
    BIN,
    PAGES,
    ROOT,
    file_name_of,
    headings_with_python_blocks,
    python_blocks,
    run_type_checkers,
    wrap_fragment,
)

# (page, heading) -> the file name each of its blocks is checked as.
CHECKED_HERE = {
    ("README.md", "## Quickstart"): ["quickstart.py", "quickstart_sync.py"],
    ("docs/sync.md", "## Sync or async?"): ["sync_or_async.py"],
    ("docs/web-apps.md", "# In a web app"): ["web_app.py"],
    ("docs/client.md", "## Per-call options, raw responses and a deadline"): ["options.py"],
    ("docs/client.md", "## The aiohttp transport"): ["fast.py"],
    ("docs/tracing.md", "## OpenTelemetry"): ["tracing.py"],
    ("docs/many-processes.md", "## One token and one rate budget for the fleet"): ["fleet.py"],
    ("docs/trio.md", "# Under trio"): ["under_trio.py"],
    ("docs/domains.md", "# Setting up a mailbox domain"): ["setup_domain.py"],
    ("docs/testing.md", "## With pytest"): ["conftest.py", "test_domains.py", "test_domains_sync.py"],
}
CHECKED_ELSEWHERE = {
    ("docs/regenerating.md", "## A new operation arrives typed"): "tests/project/test_new_operation.py",
    ("docs/vendoring.md", "# Vendoring"): "tests/project/test_vendor.py",
}


def write_blocks(folder: Path) -> list[str]:
    """Every block checked here, as a file of `folder`; the file names."""
    names: list[str] = []
    for (page, heading), expected in CHECKED_HERE.items():
        blocks = python_blocks(heading, page)
        assert len(blocks) == len(expected), (page, heading)
        for block, default in zip(blocks, expected, strict=True):
            name = file_name_of(block) if re.match(r"# \w+\.py\n", block) else default
            assert name == default, (heading, name)
            (folder / name).write_text(block)
            names.append(name)
    return names


def test_every_python_block_is_checked_somewhere() -> None:
    found = {(page, heading) for page in PAGES for heading in headings_with_python_blocks(page)}
    assert "docs/testing.md" in PAGES  # the docs pages are read, not only the README
    assert found == CHECKED_HERE.keys() | CHECKED_ELSEWHERE.keys()


def test_the_readme_blocks_pass_mypy_strict_and_pyright_strict(tmp_path: Path) -> None:
    names = write_blocks(tmp_path)
    output = run_type_checkers(tmp_path, names)
    assert f"Success: no issues found in {len(names)} source files" in output


def ruff(*args: str) -> None:
    result = subprocess.run(  # noqa: S603
        [str(BIN / "ruff"), *args, "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("page", "heading"), [*CHECKED_HERE, *CHECKED_ELSEWHERE])
def test_the_readme_blocks_are_ruff_clean(tmp_path: Path, page: str, heading: str) -> None:
    for index, block in enumerate(python_blocks(heading, page)):
        path = tmp_path / f"block_{index}.py"
        path.write_text(block)
        ruff("format", "--check", "--diff", str(path))
        if (page, heading) in CHECKED_HERE:
            ruff("check", str(path))
        else:  # a fragment: its lines as written, then the wrapped module the type checkers see
            ruff("check", "--select", "E501", str(path))
            path.write_text(wrap_fragment(block, "monite: object, entity_id: str, domain_id: object"))
            ruff("check", "--extend-ignore", "F401,F841,E501", str(path))


def test_the_checkers_have_teeth(tmp_path: Path) -> None:
    # What the Quickstart used to do: the union from the schema's anyOf is an error in both.
    (tmp_path / "old_quickstart.py").write_text(
        "from monite_async import DomainResponse\n\n\n"
        "def first_name(domain: DomainResponse) -> str:\n"
        "    return domain.dns_records.sending_dns_records[0].name\n"
    )
    with pytest.raises(AssertionError, match=r"mypy --strict:\n.*union-attr"):
        run_type_checkers(tmp_path, ["old_quickstart.py"])
