"""`make test`: every check, and the suite on every Python the classifiers name, side by side.

    .venv/bin/python scripts/make_test.py        # what `make test` runs

The steps:
- `lint`, `typecheck`, `check-generated`, `docs`: the Makefile's targets;
- `pytest 3.N` for .venv's Python: the whole suite, in pytest-xdist workers;
- `pytest 3.N` for each other classified Python (scripts/other_pythons.py): its venv
  `.venv-3.N` built by uv once per pyproject.toml, then the package's own tests.

They start together, each in a process group of its own, its output in `.test-logs/STEP.log`
(ignored by git): on 2 cores the suites' waits (sockets, sleeps, subprocesses) leave room for
each other, and one step's failure stops nothing. As a step ends, one line says how it
ended; a failed step's log tail follows (the failed tests, for pytest). Then the summary:
each step, its outcome and time, and last the count over every pytest run, the line CI
reads: `total: N passed, N failed, N skipped`, where `failed` also counts each failed step
that is not a test (a lint, a venv that could not be built, a pytest run that ended badly
with no failed test, such as a collection error). Exit 0 when every step passed, else 1.

Bytecode: the steps run without PYTHONDONTWRITEBYTECODE (where the machine sets it), so
that what one process compiles, and pytest's assertion rewriting of the test modules and
of plugins' packages, is written once (`__pycache__`, ignored by git and by every tree
comparison) and read by every later process, instead of taking each worker, and each
Python a test starts, 5-15 s of CPU again.

Workers: MONITE_TEST_WORKERS for .venv's suite (default: 2 x cores + 1) and
MONITE_OTHER_WORKERS for each other Python's (default: the cores). More workers than cores, as
most of a test's time is waiting (on sockets, sleeps, subprocesses): measured on 2 cores, the
suites' own CPU is about half their workers' time together; each worker costs seconds of CPU
to start (imports, collection), so not more.
A classified Python missing here is skipped with a notice, or with
MONITE_REQUIRE_ALL_PYTHONS=1 (.ci/run) fails the run.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TextIO


def _load_sibling(name: str) -> ModuleType:
    """`scripts/<name>.py` as a module (scripts are commands, not a package)."""
    path = Path(__file__).resolve().parent / f"{name}.py"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before it runs: its dataclasses look it up
    spec.loader.exec_module(module)
    return module


other_pythons = _load_sibling("other_pythons")

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".test-logs"
STEP_TIMEOUT = 1800.0  # seconds; a step still running then is stopped and failed
_TAIL = 40  # log lines shown for a failed step that is not pytest
_CLOSING = re.compile(r"^=+ .*\b(passed|failed|errors?|no tests ran)\b.* =+$")  # pytest's last line


@dataclasses.dataclass
class Step:
    name: str
    command: list[str]
    junit: Path | None = None  # pytest's report, when the step is a pytest run
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    skip_reason: str | None = None  # not run at all (a Python missing here)


@dataclasses.dataclass
class Outcome:
    step: Step
    code: int | None  # None: skipped
    seconds: float
    log: Path
    cpu: float = 0.0  # seconds of CPU, the step's processes together
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return self.code in (0, None)

    @property
    def counted_failures(self) -> int:
        """Failed tests, or 1 for a failed step with none to show for it."""
        if self.ok:
            return self.failed
        return max(self.failed, 1)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-")


def junit_counts(path: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from pytest's JUnit XML; errors count as failed."""
    root = ET.parse(path).getroot()  # noqa: S314  (our own pytest wrote it)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failures = errors = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0))
        errors += int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failures - errors - skipped, failures + errors, skipped


def failure_lines(log: Path) -> list[str]:
    """pytest's short summary (FAILED/ERROR lines) and its closing line, from a step's log."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    picked = [line for line in lines if line.startswith(("FAILED ", "ERROR ", "event loops: FAILED"))]
    closing = [line for line in lines if _CLOSING.match(line)]
    return picked + closing[-1:] if picked or closing else lines[-_TAIL:]


def step_environment(step: Step) -> dict[str, str]:
    """The environment a step runs in: ours, bytecode allowed (see the module docstring)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env | step.env


class Runner:
    """Runs steps at once, each in its own process group, and reports each as it ends."""

    def __init__(self, out: TextIO | None = None, logs: Path = LOGS) -> None:
        self.out = out if out is not None else sys.stdout
        self.logs = logs
        self.lock = threading.Lock()
        self.groups: set[int] = set()  # process groups still running, for Ctrl-C

    def say(self, text: str) -> None:
        with self.lock:
            print(text, file=self.out, flush=True)

    def run(self, step: Step) -> Outcome:
        log = self.logs / f"{slug(step.name)}.log"
        if step.skip_reason is not None:
            log.write_text(step.skip_reason + "\n", encoding="utf-8")
            self.say(f"[{step.name}] skipped: {step.skip_reason}")
            return Outcome(step, None, 0.0, log)
        if step.junit is not None:
            step.junit.unlink(missing_ok=True)  # no stale counts from an earlier run
        started = time.monotonic()
        with log.open("w", encoding="utf-8") as sink:
            sink.write(f"$ {' '.join(step.command)}\n")
            sink.flush()
            process = subprocess.Popen(
                step.command,
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=step_environment(step),
                start_new_session=True,  # its own process group: stopped whole on a timeout
            )
            self.groups.add(process.pid)
            timer = threading.Timer(STEP_TIMEOUT, self.stop, args=(process.pid,))
            timer.start()
            try:
                # wait4, not wait: the step's CPU time too (with every process it waited for).
                _, status, usage = os.wait4(process.pid, 0)
            finally:
                timer.cancel()
                self.groups.discard(process.pid)
            process.returncode = code = os.waitstatus_to_exitcode(status)
            seconds = time.monotonic() - started
            if seconds >= STEP_TIMEOUT:
                sink.write(f"\nmake_test: stopped after {STEP_TIMEOUT:.0f} s\n")
                code = code or -1
        outcome = Outcome(step, code, seconds, log, cpu=usage.ru_utime + usage.ru_stime)
        if step.junit is not None and step.junit.is_file():
            # A report cut short is unreadable: the step's exit code says it failed.
            with contextlib.suppress(ET.ParseError):
                outcome.passed, outcome.failed, outcome.skipped = junit_counts(step.junit)
        self.report(outcome)
        return outcome

    def report(self, outcome: Outcome) -> None:
        counts = f"; {outcome.passed} passed, {outcome.failed} failed" if outcome.step.junit else ""
        if outcome.ok:
            self.say(f"[{outcome.step.name}] passed in {outcome.seconds:.0f} s{counts}")
            return
        shown = failure_lines(outcome.log)
        self.say(
            "\n".join(
                [
                    f"[{outcome.step.name}] FAILED (exit {outcome.code}) in {outcome.seconds:.0f} s{counts}; "
                    f"log: {_shown(outcome.log)}",
                    *(f"    {line}" for line in shown),
                ]
            )
        )

    def stop(self, group: int) -> None:
        try:
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            return
        time.sleep(2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)

    def run_all(self, steps: Sequence[Step]) -> list[Outcome]:
        self.logs.mkdir(exist_ok=True)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(steps)))
        try:
            futures = [pool.submit(self.run, step) for step in steps]
            return [future.result() for future in futures]
        except KeyboardInterrupt:
            for group in list(self.groups):
                self.stop(group)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def summary(outcomes: Sequence[Outcome], wall: float) -> list[str]:
    width = max(len(o.step.name) for o in outcomes)
    cpu = sum(o.cpu for o in outcomes)
    lines = [f"make test: {len(outcomes)} steps in {wall:.0f} s, {cpu:.0f} s of CPU ({os.cpu_count()} cores)"]
    for o in outcomes:
        state = "skipped" if o.code is None else "passed" if o.ok else f"FAILED (exit {o.code})"
        counts = f"  {o.passed} passed, {o.failed} failed, {o.skipped} skipped" if o.step.junit else ""
        lines.append(
            f"  {o.step.name.ljust(width)}  {state:<16} {o.seconds:5.0f} s (CPU {o.cpu:4.0f} s){counts}"
        )
    passed = sum(o.passed for o in outcomes)
    failed = sum(o.counted_failures for o in outcomes)
    skipped = sum(o.skipped for o in outcomes)
    lines.append(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    return lines


def default_workers(variable: str, fallback: int) -> int:
    wanted = os.environ.get(variable, "")
    return int(wanted) if wanted.isdigit() and int(wanted) > 0 else fallback


def plan() -> list[Step]:
    cores = os.cpu_count() or 1
    main_workers = default_workers("MONITE_TEST_WORKERS", 2 * cores + 1)
    other_workers = default_workers("MONITE_OTHER_WORKERS", cores)
    python = sys.executable
    make = [shutil.which("make") or "make", "--no-print-directory", "-o", ".venv/.installed"]
    here = "{}.{}".format(*sys.version_info[:2])
    report = LOGS / f"pytest-{here}.xml"
    steps = [
        Step("lint", [*make, "lint"]),
        Step("typecheck", [*make, "typecheck"]),
        Step("check-generated", [*make, "check-generated"]),
        Step("docs", [*make, "-o", ".venv/.installed-docs", "docs"]),
        Step(
            f"pytest {here}",
            [python, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", "--durations=20"]
            + other_pythons.CONTINUE_ARGS
            + (["-n", str(main_workers), *other_pythons.XDIST_ARGS] if main_workers > 1 else []),
            junit=report,
        ),
    ]
    for version in other_pythons.classified_versions():
        if version == here:
            continue
        report = LOGS / f"pytest-{version}.xml"
        step = Step(
            f"pytest {version}",
            [
                python,
                str(ROOT / "scripts" / "other_pythons.py"),
                "--only",
                version,
                "--",
                f"--junitxml={report}",
                "--durations=20",
            ],
            junit=report,
            env={"MONITE_TEST_WORKERS": str(other_workers)},
        )
        try:
            other_pythons.find_interpreter(version)
        except other_pythons.OtherPythonError as missing:
            if os.environ.get("MONITE_REQUIRE_ALL_PYTHONS") == "1":
                step.command = [python, "-c", f"import sys; sys.exit({str(missing)!r})"]
            else:
                step.skip_reason = str(missing)
        steps.append(step)
    return steps


def main() -> int:
    here = "{}.{}".format(*sys.version_info[:2])
    if here not in other_pythons.classified_versions():
        print(f"make_test: pyproject.toml does not classify {here}, the Python of .venv", file=sys.stderr)
        return 1
    started = time.monotonic()
    steps = plan()
    runner = Runner()
    runner.say(f"make test: {', '.join(s.name for s in steps)} side by side; logs in .test-logs/")
    outcomes = runner.run_all(steps)
    for line in summary(outcomes, time.monotonic() - started):
        runner.say(line)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
