"""Generate `generated/monite_generated` from the OpenAPI fragment, or check it is current.

    python scripts/generate.py            # rewrite generated/monite_generated
    python scripts/generate.py --check    # regenerate in a temp folder, list what differs

Why a script and not a bare generator call:
- the generator silently drops operations it cannot handle and still exits 0, so it runs
  with --fail-on-warning and we also count the operations it wrote;
- its output depends on the generator's and ruff's exact versions, so both are checked
  against the pins in pyproject.toml and run from this interpreter's environment;
- `--overwrite` keeps stale files outside api/ and models/, so we generate into a fresh
  temporary folder and replace the whole package;
- the API version the facade pins is written from the fragment's `info.version` here, so
  there is exactly one hand-written copy of it: the fragment;
- the templates we change (openapi/templates/) are passed the same way to both the
  generation and the drift check, since both call `generate_into`;
- the resource methods are rendered from the same fragment (scripts/render_resources.py)
  into monite_async/resources/_generated/, and checked and replaced with the package.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import render_resources

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "mailbox_domains.yaml"
CONFIG = ROOT / "openapi" / "generator-config.yaml"
# Our copies of the generator templates we change (a beta interface of the generator: the
# copies are of the pinned version's templates; see openapi/templates/types.py.jinja).
TEMPLATES = ROOT / "openapi" / "templates"
PACKAGE = "monite_generated"
TARGET = ROOT / "generated" / PACKAGE
RESOURCES_TARGET = render_resources.OUTPUT
PINNED_TOOLS = ("openapi-python-client", "ruff")

API_VERSION_MODULE = '''\
"""The Monite API version this package was generated for.

Written by scripts/generate.py from `info.version` of openapi/mailbox_domains.yaml.
"""

API_VERSION = "{version}"
'''


class GenerationError(Exception):
    """Generation failed or produced something we refuse to ship."""


def pinned_versions() -> dict[str, str]:
    """The exact versions pyproject.toml pins for the tools whose output we check in."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins: dict[str, str] = {}
    for requirement in project["dependency-groups"]["dev"]:
        if not isinstance(requirement, str):  # an {include-group = ...} table
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^;\s]+)", requirement.strip())
        if match and match.group(1) in PINNED_TOOLS:
            pins[match.group(1)] = match.group(2)
    missing = set(PINNED_TOOLS) - pins.keys()
    if missing:
        raise GenerationError(f"pyproject.toml must pin {sorted(missing)} with == in the dev group")
    return pins


def check_tool_versions() -> None:
    for name, wanted in pinned_versions().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise GenerationError(f"{name}=={wanted} is not installed; run `make install`") from None
        if installed != wanted:
            raise GenerationError(
                f"{name} {installed} is installed but pyproject.toml pins {wanted}; "
                "another version writes different code. Run `make install`."
            )


def api_version_of(spec: Path) -> str:
    version = str(yaml.safe_load(spec.read_text())["info"]["version"])
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version):
        raise GenerationError(f"info.version of {spec.name} must be YYYY-MM-DD, not {version!r}")
    return version


def operation_ids_of(spec: Path) -> set[str]:
    paths = yaml.safe_load(spec.read_text())["paths"]
    return {op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict)}


def generate_into(workdir: Path, *, spec: Path = SPEC) -> Path:
    """Run the generator in `workdir` and return the finished package folder."""
    check_tool_versions()
    spec = spec.resolve()  # the generator runs in `workdir`: a relative path would miss
    bin_dir = Path(sys.executable).parent
    generator = bin_dir / "openapi-python-client"
    for tool in (generator, bin_dir / "ruff"):
        # The hooks find ruff on PATH: it must be the one whose version was just checked.
        if not tool.exists():
            raise GenerationError(f"{tool.name} is not in {bin_dir}; run `make install`")
    out = workdir / PACKAGE
    # ruff is looked up on PATH by the post hooks: put this environment's first.
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RUFF_CACHE_DIR", None)
    cmd = [
        str(generator), "generate",
        "--path", str(spec),
        "--config", str(CONFIG),
        "--custom-template-path", str(TEMPLATES),
        "--meta", "none",
        "--output-path", str(out),
        "--overwrite",
        "--fail-on-warning",
    ]  # fmt: skip
    result = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise GenerationError(
            f"openapi-python-client failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    shutil.rmtree(out / ".ruff_cache", ignore_errors=True)

    written = {p.stem for p in (out / "api").rglob("*.py") if p.name != "__init__.py"}
    dropped = operation_ids_of(spec) - written
    if dropped:
        raise GenerationError(f"the generator dropped operations without failing: {sorted(dropped)}")

    (out / "py.typed").write_text("")
    (out / "api_version.py").write_text(API_VERSION_MODULE.format(version=api_version_of(spec)))
    return out


def differences(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two trees, with what is wrong with each."""
    problems: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        problems.extend(f"{prefix}{name}: missing from generated/" for name in cmp.left_only)
        problems.extend(f"{prefix}{name}: not produced by the generator" for name in cmp.right_only)
        problems.extend(f"{prefix}{name}: type differs" for name in cmp.common_funny)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        problems.extend(f"{prefix}{name}: content differs" for name in mismatch + errors)
        for name, sub in sorted(cmp.subdirs.items()):
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), "")
    return sorted(problems)


def replace_tree(fresh: Path, target: Path) -> None:
    """Put a copy of `fresh` where `target` is, with two renames, so that `target` is never
    a half-deleted tree."""
    target.parent.mkdir(exist_ok=True)
    staging = target.parent / f".{target.name}.new"
    retired = target.parent / f".{target.name}.old"
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(fresh, staging)
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if generated/ does not match the fragment")
    parser.add_argument("--spec", type=Path, default=SPEC, help="the OpenAPI document (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="monite-generate-") as tmp:
            fresh = generate_into(Path(tmp), spec=args.spec)
            rendered = Path(tmp) / "_resources"
            names = render_resources.render(args.spec, fresh, rendered)
            pairs = ((fresh, TARGET), (rendered, RESOURCES_TARGET))
            if args.check:
                problems = []
                for made, target in pairs:
                    shown = target.relative_to(ROOT)
                    if not target.is_dir():
                        problems.append(f"{shown}: does not exist")
                    else:
                        problems.extend(f"{shown}/{line}" for line in differences(made, target))
                if problems:
                    print(f"check-generated: generated code does not match {args.spec.name}:")
                    for line in problems:
                        print(f"  {line}")
                    print("Run `make generate` and commit the result; never edit generated code by hand.")
                    return 1
                shown = f"generated/{PACKAGE}, {RESOURCES_TARGET.relative_to(ROOT)}"
                print(f"check-generated: the generated code ({shown}) matches {args.spec.name}")
                return 0
            for made, target in pairs:
                replace_tree(made, target)
            count = sum(1 for _ in TARGET.rglob("*.py"))
            print(f"generate: wrote generated/{PACKAGE} ({count} modules) from {args.spec.name}")
            print(f"generate: rendered {RESOURCES_TARGET.relative_to(ROOT)}: {', '.join(names)}")
            return 0
    except (GenerationError, render_resources.RenderError, OSError) as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
