"""The repository stands alone: a clone with nothing beside it runs the spec checks.

Monite's published spec is data in the repository (openapi/reference/, PROVENANCE.md says
where and when it was taken). No tracked file but Markdown names a folder beside the
checkout, and the spec checks pass from a copy of the tracked files alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from reference_data import CUT, MAILBOXES, REFERENCE_DIR, load

ROOT = Path(__file__).resolve().parents[2]
# A path out of the checkout into the sibling folder the reference data used to live in,
# as text ("../" then its name) or built with pathlib (`ROOT.parent / ` then its name).
# Spelled in pieces so that this file does not match itself.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"\b|\.parent\s*/\s*[\"']" + "shared" + "[\"']")
# The spec checks run in the copy: the fragment against upstream's text, and the sync.
SPEC_CHECKS = [
    "tests/project/test_fragment_vs_upstream.py",
    "tests/project/test_sync_spec.py::test_the_committed_fragment_is_what_the_sync_writes_from_the_reference",
    "tests/project/test_sync_spec.py::test_the_cut_it_writes_is_the_reference_cut",
]


def tracked_files() -> list[str]:
    try:
        result = subprocess.run(
            ["git", "ls-files", "-z"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked sdist): nothing says which files are tracked")
    return [name for name in result.stdout.decode().split("\0") if name]


def test_no_tracked_file_but_markdown_names_a_folder_beside_the_checkout() -> None:
    offenders = []
    for name in tracked_files():
        path = ROOT / name
        if name.endswith(".md") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a picture
        offenders += [
            f"{name}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert offenders == []


def test_the_pattern_finds_both_spellings() -> None:
    """The check above can fail: both ways the tests used to reach outside are caught."""
    assert OUTSIDE.search('UPSTREAM = ROOT.parent / "' + 'shared" / "reference" / "x.json"')
    assert OUTSIDE.search("make sync-spec UPSTREAM=../" + "shared" + "/reference/x.json")
    assert not OUTSIDE.search("a token fetch shared by every waiter")


def test_the_reference_data_is_what_its_provenance_says() -> None:
    provenance = (REFERENCE_DIR / "PROVENANCE.md").read_text()
    assert "team-monite/monite-sdk" in provenance
    assert "packages/sdk-react/src/api/schema.json" in provenance
    assert re.search(r"Taken: \d{4}-\d{2}-\d{2}", provenance)
    for path in (CUT, MAILBOXES):
        assert f"`{path.name}`" in provenance
        document = load(path)
        assert document["openapi"] == "3.1.0"
        assert f"`info.version`\n  {document['info']['version']}" in provenance


def test_the_spec_checks_pass_from_a_copy_of_the_tracked_files_alone(tmp_path: Path) -> None:
    alone = tmp_path / "alone"  # the copy's parent holds the copy and nothing else
    copy = alone / "repo"
    for name in tracked_files():
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not copied
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    # The tools, not the data: the tests call .venv's generator and make's targets.
    (copy / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    assert sorted(p.name for p in alone.iterdir()) == ["repo"]

    sync = subprocess.run(  # noqa: S603
        [sys.executable, "scripts/sync_spec.py", "--upstream", str(CUT.relative_to(ROOT)), "--check"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert "upstream has not moved" in sync.stdout

    checks = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "no:xdist", *SPEC_CHECKS],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = checks.stdout + checks.stderr
    assert checks.returncode == 0, output
    closing = output.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", closing)
    assert passed, closing
    assert int(passed.group(1)) >= len(SPEC_CHECKS), closing
    assert not re.search(r"failed|error|skipped", closing), closing
