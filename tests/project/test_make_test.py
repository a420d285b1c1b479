"""`make test` (scripts/make_test.py): every step runs whatever another's outcome, the summary
says which passed, and its last line is the count CI reads.

The runner is driven here with small real commands in place of lint and pytest: one that
passes with a JUnit report, one that fails without tests, one pytest-like run with a failed
test, one Python missing. The plan is checked against the Makefile and the classifiers.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
make_test = load_script("make_test")

JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="pytest" errors="{errors}" '
    'failures="{failures}" skipped="{skipped}" tests="{tests}"/></testsuites>\n'
)


def junit_writer(path: Path, *, tests: int, failures: int = 0, errors: int = 0, skipped: int = 0) -> str:
    """A Python program that writes a JUnit report as pytest would, then exits 1 on a failure."""
    text = JUNIT.format(tests=tests, failures=failures, errors=errors, skipped=skipped)
    code = 1 if failures or errors else 0
    lines = "FAILED tests/test_x.py::test_y - boom\\n" if code else ""
    closing = f"== {failures} failed, {tests - failures - skipped} passed in 0.1s ==" if code else "== ok =="
    return (
        f"import pathlib, sys; pathlib.Path({str(path)!r}).write_text({text!r}); "
        f"print({lines!r} + {closing!r}); sys.exit({code})"
    )


def test_every_step_runs_and_the_summary_says_which_failed(tmp_path: Path) -> None:
    python = sys.executable
    steps = [
        make_test.Step("lint", [python, "-c", "print('lint is sad'); raise SystemExit(2)"]),
        make_test.Step(
            "pytest 3.11",
            [python, "-c", junit_writer(tmp_path / "a.xml", tests=10, skipped=2)],
            junit=tmp_path / "a.xml",
        ),
        make_test.Step(
            "pytest 3.12",
            [python, "-c", junit_writer(tmp_path / "b.xml", tests=5, failures=1)],
            junit=tmp_path / "b.xml",
        ),
        make_test.Step("pytest 3.13", ["false"], junit=tmp_path / "c.xml", skip_reason="no python3.13 here"),
    ]
    out = io.StringIO()
    runner = make_test.Runner(out=out, logs=tmp_path / "logs")
    outcomes = runner.run_all(steps)
    lines = make_test.summary(outcomes, 1.0)

    assert [o.code for o in outcomes] == [2, 0, 1, None]
    assert not all(o.ok for o in outcomes)  # main() exits 1
    printed = out.getvalue()
    # The failed lint did not stop the pytest runs; each failure shows what failed.
    assert "[lint] FAILED (exit 2)" in printed
    assert "    lint is sad" in printed
    assert "[pytest 3.11] passed in " in printed
    assert "[pytest 3.12] FAILED (exit 1)" in printed
    assert "    FAILED tests/test_x.py::test_y - boom" in printed
    assert "[pytest 3.13] skipped: no python3.13 here" in printed
    assert (tmp_path / "logs" / "lint.log").read_text().endswith("lint is sad\n")

    table = "\n".join(lines)
    assert re.search(r"^  lint +FAILED \(exit 2\)", table, re.MULTILINE)
    assert re.search(r"^  pytest 3\.11 +passed .* 8 passed, 0 failed, 2 skipped$", table, re.MULTILINE)
    assert re.search(
        r"^  pytest 3\.12 +FAILED \(exit 1\) .* 4 passed, 1 failed, 0 skipped$", table, re.MULTILINE
    )
    assert re.search(r"^  pytest 3\.13 +skipped", table, re.MULTILINE)
    # The failed lint counts as one failure: a run with a failed step never reads "0 failed".
    assert lines[-1] == "total: 12 passed, 2 failed, 2 skipped"
    assert re.fullmatch(r"\w+: \d+ passed, \d+ failed, \d+ skipped", lines[-1])  # what CI reads


def test_a_pytest_run_that_fails_with_no_failed_test_still_counts(tmp_path: Path) -> None:
    # A collection error before any test ran: exit 2 and no report.
    step = make_test.Step(
        "pytest 3.13", [sys.executable, "-c", "raise SystemExit(2)"], junit=tmp_path / "x.xml"
    )
    (outcome,) = make_test.Runner(out=io.StringIO(), logs=tmp_path).run_all([step])
    assert make_test.summary([outcome], 1.0)[-1] == "total: 0 passed, 1 failed, 0 skipped"


def test_the_plan_runs_every_check_and_every_classified_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    steps = make_test.plan()
    names = [step.name for step in steps]
    here = "{}.{}".format(*sys.version_info[:2])
    assert names[:4] == ["lint", "typecheck", "check-generated", "docs"]
    assert sorted(names[4:]) == [f"pytest {v}" for v in make_test.other_pythons.classified_versions()]
    main = next(step for step in steps if step.name == f"pytest {here}")
    assert "-n" in main.command
    assert "--dist" in main.command
    assert not any(arg.startswith("--ignore") for arg in main.command)  # the whole suite here
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lint", "typecheck", "check-generated", "docs"):
        assert f"\n{target}: " in makefile

    def missing(version: str) -> str:
        raise make_test.other_pythons.OtherPythonError(f"no python{version} runs on this machine")

    monkeypatch.setattr(make_test.other_pythons, "find_interpreter", missing)
    monkeypatch.delenv("MONITE_REQUIRE_ALL_PYTHONS", raising=False)
    skipped = [step for step in make_test.plan() if step.skip_reason]
    assert len(skipped) == len(make_test.other_pythons.classified_versions()) - 1
    # On CI a missing classified Python fails the run instead.
    monkeypatch.setenv("MONITE_REQUIRE_ALL_PYTHONS", "1")
    required = [
        step for step in make_test.plan() if step.name not in names[:4] and step.name != f"pytest {here}"
    ]
    assert required
    assert all(step.skip_reason is None for step in required)
    (outcome,) = make_test.Runner(out=io.StringIO(), logs=tmp_path).run_all(required[:1])
    assert outcome.code != 0
    assert "no python" in outcome.log.read_text()


def test_a_step_that_hangs_is_stopped_with_its_children_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(make_test, "STEP_TIMEOUT", 1.0)
    # A shell whose child sleeps: the whole process group goes, not just the shell.
    hang = make_test.Step("hangs", ["sh", "-c", "sleep 60 & wait"])
    quick = make_test.Step("quick", [sys.executable, "-c", "print('done')"])
    started = make_test.time.monotonic()
    hung, done = make_test.Runner(out=io.StringIO(), logs=tmp_path).run_all([hang, quick])
    assert make_test.time.monotonic() - started < 30
    assert hung.code not in (0, None)
    assert "make_test: stopped after 1 s" in hung.log.read_text()
    assert done.code == 0
    assert done.cpu > 0  # the step's CPU time is measured (wait4)


def test_make_demo_installs_the_package_and_the_fake_and_no_developer_tool() -> None:
    """`make demo` has a venv of its own with the `testing` extra (the fake Monite): not
    .venv's dev group (mypy, pyright with Node, schemathesis...)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\n$(DEMO_STAMP): pyproject.toml\n", 1)[1].split("\n\n", 1)[0]
    installs = [line.strip() for line in recipe.splitlines() if " install " in line]
    assert installs == [
        "$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[testing]'"
    ]
    assert "\ndemo: $(DEMO_STAMP)\n\t$(DEMO_VENV)/bin/python -m monite_async.lib.demo\n" in makefile
    assert "DEMO_VENV := $(VENV)-demo" in makefile
