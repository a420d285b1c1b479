""".github/workflows/regenerate.yml: it parses, uses real make targets, and its spec-diff step works.

The spec-diff step's shell script is run here, as GitHub would run it, in a throwaway git
repository whose last commit changes the fragment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "regenerate.yml"
FRAGMENT = "openapi/mailbox_domains.yaml"


def _workflow() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return document


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _workflow()["jobs"]["regenerate"]["steps"]
    return steps


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, flags=re.MULTILINE))


def _step(name_part: str) -> dict[str, Any]:
    (step,) = [s for s in _steps() if name_part in s.get("name", "")]
    return step


def test_triggers_on_changes_under_openapi() -> None:
    # YAML 1.1 reads the bare key `on` as True.
    triggers = _workflow().get("on") or _workflow()[True]
    for event in ("push", "pull_request"):
        assert triggers[event]["paths"] == ["openapi/**"], event


def test_checks_out_two_commits_on_python_311() -> None:
    checkout = _steps()[0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 2
    (python,) = [s for s in _steps() if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert str(python["with"]["python-version"]) == "3.11"
    assert _workflow()["jobs"]["regenerate"]["runs-on"] == "ubuntu-latest"


def test_every_make_target_it_runs_exists_in_the_makefile() -> None:
    runs = "\n".join(str(s.get("run", "")) for s in _steps())
    used = set(re.findall(r"\bmake\s+([a-z][\w-]*)", runs))
    assert {"install", "generate", "check-generated", "test"} <= used
    assert used <= _makefile_targets(), used - _makefile_targets()
    for script in re.findall(r"\bscripts/[\w.]+\.py", runs):
        assert (ROOT / script).is_file(), script


def test_steps_run_in_order() -> None:
    runs = [str(s.get("run", "")) for s in _steps()]

    def index(fragment: str) -> int:
        return next(i for i, run in enumerate(runs) if fragment in run)

    order = [
        index("make install"),
        index("make generate"),
        index("git status --porcelain"),
        index("make check-generated"),
        index("scripts/spec_diff.py"),
        index("make test"),
        index("FAIL_ON_BREAKING is true"),
    ]
    assert order == sorted(order)


def test_breaking_changes_fail_the_job_only_when_switched_on() -> None:
    assert _workflow()["env"]["FAIL_ON_BREAKING"] == "${{ vars.FAIL_ON_BREAKING || 'false' }}"
    gate = _step("Fail on a breaking spec change")
    assert gate["if"] == "${{ steps.spec_diff.outputs.breaking == 'true' && env.FAIL_ON_BREAKING == 'true' }}"
    assert _step("Spec diff against the previous commit")["id"] == "spec_diff"
    assert "FAIL_ON_BREAKING" in WORKFLOW.read_text().split("name: regenerate")[0], "documented in the header"


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A repository whose last commit removes a response field from the fragment."""
    repo = tmp_path / "repo"
    (repo / "openapi").mkdir(parents=True)
    (repo / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "spec_diff.py", repo / "scripts" / "spec_diff.py")
    (repo / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    shutil.copy2(ROOT / FRAGMENT, repo / FRAGMENT)
    _git(repo, "init", "-q")
    _git(repo, "add", "openapi", "scripts")
    _git(repo, "commit", "-q", "-m", "fragment as it was")
    return repo


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, timeout=30, capture_output=True)  # noqa: S603, S607


def _run_spec_diff_step(repo: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str, str]:
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {
        **os.environ,
        "FRAGMENT": FRAGMENT,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
    }
    # GitHub runs `run:` blocks with `bash -e {0}`.
    result = subprocess.run(  # noqa: S603
        ["bash", "-e", "-c", _step("Spec diff against the previous commit")["run"]],  # noqa: S607
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    read = lambda p: p.read_text() if p.exists() else ""  # noqa: E731
    return result, read(output), read(summary)


def test_spec_diff_step_reports_a_breaking_change(history: Path, tmp_path: Path) -> None:
    fragment = yaml.safe_load((history / FRAGMENT).read_text())
    del fragment["components"]["schemas"]["DomainResponse"]["properties"]["dedicated_ip"]
    (history / FRAGMENT).write_text(yaml.safe_dump(fragment, sort_keys=False))
    _git(history, "commit", "-q", "-am", "drop dedicated_ip")

    result, output, summary = _run_spec_diff_step(history, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.strip() == "breaking=true"
    assert "::warning::" in result.stdout
    assert "[response-field-removed] get_mailbox_domains response 200 .data[].dedicated_ip" in summary
    assert "Result: BREAKING" in summary


def test_spec_diff_step_reports_a_compatible_change(history: Path, tmp_path: Path) -> None:
    fragment = yaml.safe_load((history / FRAGMENT).read_text())
    fragment["components"]["schemas"]["DomainResponse"]["properties"]["region"] = {"type": "string"}
    (history / FRAGMENT).write_text(yaml.safe_dump(fragment, sort_keys=False))
    _git(history, "commit", "-q", "-am", "add region")

    result, output, summary = _run_spec_diff_step(history, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.strip() == "breaking=false"
    assert "[response-field-added] get_mailbox_domains response 200 .data[].region" in summary
    assert "Result: compatible" in summary


def test_spec_diff_step_without_a_previous_fragment(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    result, output, summary = _run_spec_diff_step(repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert output.strip() == "breaking=false"
    assert "nothing to compare" in summary


def test_spec_diff_step_fails_on_an_unusable_fragment(history: Path, tmp_path: Path) -> None:
    (history / FRAGMENT).write_text("openapi: [unclosed\n")
    _git(history, "commit", "-q", "-am", "break the YAML")
    result, output, _ = _run_spec_diff_step(history, tmp_path)
    assert result.returncode == 2
    assert "::error::spec diff could not compare" in result.stdout
    assert output == ""


@pytest.mark.parametrize("change", [None, "modified", "untracked"])
def test_uncommitted_regeneration_fails_the_job(tmp_path: Path, change: str | None) -> None:
    repo = tmp_path / "repo"
    (repo / "generated" / "pkg").mkdir(parents=True)
    (repo / "generated" / "pkg" / "a.py").write_text("a = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "generated")
    if change == "modified":
        (repo / "generated" / "pkg" / "a.py").write_text("a = 2\n")
    elif change == "untracked":
        (repo / "generated" / "pkg" / "b.py").write_text("b = 1\n")
    result = subprocess.run(  # noqa: S603
        ["bash", "-e", "-c", _step("The regenerated tree must be committed")["run"]],  # noqa: S607
        cwd=repo,
        env={**os.environ, "FRAGMENT": FRAGMENT},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == (0 if change is None else 1), result.stdout + result.stderr
    if change:
        assert "::error::generated/ is not what 'make generate' writes" in result.stdout
