"""Packaging: the install lines of the README and the docs work from a copy of the checkout in a folder of any
name, `make dist` builds an sdist and a wheel from it with what a package should carry, the
version has one source, and the developer tools are dependency groups, not extras. `pip install .`
installs httpx2 and neither httpx nor httpcore, and importing the SDK leaves httpx unimported.

The installs run into fresh venvs made with the running interpreter (so `make test` proves
them on every Python it runs the suite on); pip may take the dependencies from its cache.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml
from readme_blocks import code_blocks, python_blocks
from script_loader import load_script

import monite_async
from monite_async.testing import FakeMonite

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = monite_async.__version__
# What a copy of the checkout leaves out: VCS data, venvs, caches, build output, node tools.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv*", "dist", "build", "__pycache__", ".*cache", ".tools", ".hypothesis", "*.egg-info"
)
SMOKE = """
import asyncio, sys
from pathlib import Path

import monite_async
from monite_async import MoniteClient, aiohttp_transport
from monite_async.testing import FakeMonite

async def main() -> None:
    fake = FakeMonite()
    async with fake.serve() as base_url, MoniteClient(
        client_id=fake.client_id, client_secret=fake.client_secret, base_url=base_url,
        transport=aiohttp_transport(),
    ) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")
        print([d.domain for d in await monite.mailbox_domains.list()])
        await monite.mailbox_domains.delete(domain.id)
    print(Path(monite_async.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()))

asyncio.run(main())
"""


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{shlex.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def readme_install_lines() -> list[str]:
    """The `pip install` lines of the Install section's shell block, without their comments."""
    text = README.read_text()
    section = text[text.index("\n## Install\n") :]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.startswith("pip ")]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout under a name that is neither monite_async nor the repo's."""
    copy = tmp_path_factory.mktemp("elsewhere") / "sdk-checkout-7f3"
    shutil.copytree(ROOT, copy, ignore=NOT_COPIED, symlinks=True)
    return copy


def fresh_venv(where: Path) -> Path:
    """A new venv of the running interpreter, with the pip that comes with it; its bin/."""
    run([sys.executable, "-m", "venv", str(where)], cwd=where.parent)
    return where / "bin"


# What `import monite_async` must leave out: an app on httpx2 gets no second HTTP stack.
NOT_IMPORTED = """
import sys
import monite_async, monite_async.testing
print(sorted(name for name in sys.modules if name.partition(".")[0] in ("httpx", "httpcore")))
"""


@dataclasses.dataclass(frozen=True)
class BaseInstall:
    bin_dir: Path
    outside: Path  # where scripts run: away from the checkout, they import the installed copy
    distributions: frozenset[str]  # what `pip install .` alone installed (normalized names)


@pytest.fixture(scope="module")
def base_install(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> BaseInstall:
    """A fresh venv, then the README's first install line (`pip install .`) in the checkout."""
    where = tmp_path_factory.mktemp("base-install")
    bin_dir = fresh_venv(where / "venv")
    outside = where / "work"
    outside.mkdir()
    base = shlex.split(readme_install_lines()[0])
    run([str(bin_dir / "pip"), *base[1:]], cwd=checkout)
    listing = (
        "import importlib.metadata as m; print(*sorted({d.metadata['Name'] for d in m.distributions()}))"
    )
    names = run([str(bin_dir / "python"), "-c", listing], cwd=outside).stdout.split()
    return BaseInstall(bin_dir, outside, frozenset(re.sub(r"[-_.]+", "-", n).lower() for n in names))


def test_pip_install_dot_brings_httpx2_and_neither_httpx_nor_httpcore(base_install: BaseInstall) -> None:
    installed = base_install.distributions
    assert {"monite-async", "httpx2", "httpcore2"} <= installed, sorted(installed)
    assert not installed & {"httpx", "httpcore"}, sorted(installed)


def test_importing_the_sdk_and_its_fake_leaves_httpx_out_even_where_it_is_installed() -> None:
    # This venv has httpx (the dev group's aiohttp adapter needs it): still nothing imports it.
    assert importlib.util.find_spec("httpx") is not None
    found = run([sys.executable, "-c", NOT_IMPORTED], cwd=ROOT)
    assert found.stdout.split() == ["[]"], found.stdout


def test_the_readme_install_lines_work_from_a_folder_of_any_name(
    checkout: Path, base_install: BaseInstall
) -> None:
    lines = readme_install_lines()
    assert lines == ["pip install .", "pip install '.[testing]'"]
    # The aiohttp transport's install line, as docs/client.md gives it (SMOKE uses it).
    fast = "pip install '.[fast]'"
    assert f"`{fast}`" in (ROOT / "docs" / "client.md").read_text()
    bin_dir, outside = base_install.bin_dir, base_install.outside
    python = str(bin_dir / "python")
    _, extras = (shlex.split(line) for line in lines)
    versions = (
        "import importlib.metadata as m, monite_async as a; print(a.__version__, m.version('monite-async'))"
    )
    check = run([python, "-c", versions], cwd=outside)
    assert check.stdout.split() == [VERSION, VERSION]
    # Without the extras, each says what to install, in the README's words.
    missing = subprocess.run(  # noqa: S603
        [python, "-c", "import monite_async.testing"], cwd=outside, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0
    hint = "needs the 'testing' extra: pip install '.[testing]' from a checkout of monite_async"
    assert hint in missing.stderr
    assert "'.[testing]'" in README.read_text()

    run([str(bin_dir / "pip"), *extras[1:]], cwd=checkout)
    run([str(bin_dir / "pip"), *shlex.split(fast)[1:]], cwd=checkout)
    usage = run([python, "-m", "monite_async.testing", "--help"], cwd=outside, timeout=60)
    assert "--port" in usage.stdout
    smoke = run([python, "-c", SMOKE], cwd=outside, timeout=60)
    assert smoke.stdout.splitlines() == ["['mail.example.com']", "True"]  # installed into the venv
    # The fast extra installs httpx (httpx-aiohttp requires it); importing the SDK still does not.
    assert run([python, "-c", NOT_IMPORTED], cwd=outside).stdout.split() == ["[]"]


@pytest.fixture(scope="module")
def dist(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist` in a copy of the checkout, with the running venv as its .venv."""
    copy = tmp_path_factory.mktemp("dist") / "any-name"
    shutil.copytree(checkout, copy, symlinks=True)
    (copy / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    # -o: the install step is this project's business, not the copy's.
    run(["make", "--no-print-directory", "-o", ".venv/.installed", "dist"], cwd=copy)
    return copy / "dist"


def test_make_dist_builds_the_sdist_and_a_wheel_from_it(dist: Path) -> None:
    assert sorted(p.name for p in dist.iterdir()) == [
        f"monite_async-{VERSION}-py3-none-any.whl",
        f"monite_async-{VERSION}.tar.gz",
    ]
    assert "dist/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_wheel_carries_the_license_type_markers_and_the_version_module(dist: Path) -> None:
    with zipfile.ZipFile(dist / f"monite_async-{VERSION}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        info = f"monite_async-{VERSION}.dist-info"
        assert wheel.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "[console_scripts]\nmonite-async = monite_async.__main__:main" in entry_points
    assert {"monite_async/py.typed", "monite_generated/py.typed", "monite_async/_version.py"} <= names
    assert not any(name.startswith(("tests/", "scripts/", "generated/")) for name in names)
    assert metadata["Name"] == "monite-async"
    assert metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "MIT"
    extras = ["cli", "dns", "fast", "otel", "redis", "testing"]  # no dev, no bench, no docs
    assert sorted(metadata.get_all("Provides-Extra") or []) == extras
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert sorted(urls) == ["Changelog", "Homepage", "Issues", "Source"]
    classified = {
        c.rsplit(" :: ", 1)[1] for c in metadata.get_all("Classifier") or [] if re.search(r":: 3\.\d+$", c)
    }
    assert "{}.{}".format(*sys.version_info[:2]) in classified


def test_the_sdist_has_what_builds_and_tests_the_package(dist: Path) -> None:
    with tarfile.open(dist / f"monite_async-{VERSION}.tar.gz") as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {
        "pyproject.toml",
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "CONTRIBUTING.md",
        "mkdocs.yml",
        "docs/testing.md",
        "Makefile",
        "monite_async/_version.py",
        "monite_async/py.typed",
        "generated/monite_generated/py.typed",
        "openapi/mailbox_domains.yaml",
        "openapi/reference/mailbox_domains.upstream.json",  # what tests/ compare the fragment with
        "openapi/reference/get_mailboxes.upstream.json",
        "scripts/generate.py",
        "tests/conftest.py",
        ".github/workflows/regenerate.yml",
    } <= names
    assert not any(name.startswith((".venv", "dist/", ".git/")) for name in names)


def test_the_version_has_one_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "monite_async/_version.py"
    assert importlib.metadata.version("monite-async") == monite_async.__version__
    assert "__version__" in monite_async.__all__
    assert f"\n## [{VERSION}] - " in (ROOT / "CHANGELOG.md").read_text()


def test_the_license_is_the_mit_license_declared() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the monite_async authors" in text


def test_developer_tools_are_dependency_groups_not_extras() -> None:
    assert sorted(PYPROJECT["project"]["optional-dependencies"]) == [
        "cli",
        "dns",
        "fast",
        "otel",
        "redis",
        "testing",
    ]
    groups = PYPROJECT["dependency-groups"]
    assert sorted(groups) == ["bench", "dev", "docs"]
    assert "zizmor==1.32.0" in groups["dev"]  # pinned exactly: a new release adds audits
    makefile = (ROOT / "Makefile").read_text()
    assert "uv pip install --quiet --compile-bytecode --python $(PY) -e . --group dev" in makefile
    assert "--group bench" in makefile
    assert "--group docs" in makefile
    # `mkdocs build --strict` fails on any new warning: the site's tools are pinned exactly.
    assert all("==" in requirement for requirement in groups["docs"]), groups["docs"]


def test_every_workflow_pins_its_actions_and_drops_the_checkout_token() -> None:
    """zizmor checks this in `make lint`; this says the same without zizmor."""
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    assert workflows
    for workflow in workflows:
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            for step in job.get("steps", []):
                uses = step.get("uses")
                if uses is None or uses.startswith("./"):
                    continue
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), (workflow.name, uses)
                if uses.startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, (workflow.name, step)
    assert "zizmor --offline --quiet .github/workflows/" in (ROOT / "Makefile").read_text()


def test_make_test_runs_the_suite_on_every_classified_python() -> None:
    other_pythons = load_script("other_pythons")
    versions = other_pythons.classified_versions()
    assert versions == ["3.11", "3.12", "3.13"]
    assert "{}.{}".format(*sys.version_info[:2]) in versions
    assert "\ntest: $(DOCS_STAMP)\n\t@$(PY) scripts/make_test.py\n" in (ROOT / "Makefile").read_text()
    # A classified Python the machine lacks fails the run, with what to do; it is never skipped.
    with pytest.raises(other_pythons.OtherPythonError, match=r"classifies Python 3\.99, but no python3\.99"):
        other_pythons.find_interpreter("3.99")


def test_the_tracing_example_runs_after_its_own_install_line(
    checkout: Path, tmp_path: Path, fake_monite: FakeMonite, fake_monite_server: str
) -> None:
    # docs/tracing.md's install line, exactly, into a fresh venv (the otel extra alone lacks
    # the SDK the example's console exporter comes from), then the example against the fake.
    page = "docs/tracing.md"
    (line,) = [line for line in code_blocks("sh", "## OpenTelemetry", page) if "pip install" in line]
    install = shlex.split(line.strip())
    assert install == ["pip", "install", ".[otel]", "opentelemetry-sdk"]
    bin_dir = fresh_venv(tmp_path / "venv")
    run([str(bin_dir / "pip"), *install[1:]], cwd=checkout)
    (program,) = python_blocks("## OpenTelemetry", page)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITE_")} | {
        "MONITE_CLIENT_ID": fake_monite.client_id,
        "MONITE_CLIENT_SECRET": fake_monite.client_secret,
        "MONITE_BASE_URL": fake_monite_server,
    }
    result = subprocess.run(  # noqa: S603
        [str(bin_dir / "python"), "-c", program],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "monite.get_mailbox_domains"' in result.stdout
