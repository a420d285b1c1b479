"""Copy monite_async and its generated client into another SDK, under a name of its own.

    python scripts/vendor.py --dest ../host-sdk/src/host_sdk/_vendor --package monite

writes

    DEST/NAME/                 the facade (monite_async's modules), testing/ included
    DEST/NAME/_generated/      the generated package (monite_generated)
    DEST/NAME/VENDORED.md      where the copy came from and what the host must depend on

Every import of `monite_async` or `monite_generated` in the copy becomes a relative import
(`from monite_generated.client import Client` in `NAME/_call.py` becomes
`from ._generated.client import Client`), so the copy works wherever the host puts it and
never touches an installed monite_async: two SDKs can each vendor their own copy and run
in one interpreter. Imports are found with the `ast` module, so strings, comments and
docstrings are left alone; afterwards every file of the copy is parsed again and the tool
fails (exit 1) if any import of the two original names is left.

Running it again replaces the previous copy (only a folder it wrote, recognised by its
VENDORED.md). Exit codes: 0 done, 1 the copy failed verification, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import json
import keyword
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACADE = "monite_async"
GENERATED = "monite_generated"
GENERATED_SUBPACKAGE = "_generated"
MARKER = "VENDORED.md"
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ruff_cache", ".mypy_cache", ".pytest_cache")


class VendorError(Exception):
    """The copy could not be made, or made one that still imports the original names."""


@dataclass(frozen=True)
class Edit:
    """Replace the source between two (line, column) positions; columns count UTF-8 bytes like ast's."""

    start: tuple[int, int]
    end: tuple[int, int]
    text: str


def relative_target(module: str, *, depth: int) -> str | None:
    """The relative spelling of an absolute module name, seen from a package `depth` levels deep.

    >>> relative_target("monite_generated.client", depth=0)
    '._generated.client'
    >>> relative_target("monite_async.testing", depth=1)
    '..testing'
    >>> relative_target("httpx2", depth=0) is None
    True
    """
    head, _, rest = module.partition(".")
    dots = "." * (depth + 1)
    if head == FACADE:
        return dots + rest
    if head == GENERATED:
        return dots + GENERATED_SUBPACKAGE + (f".{rest}" if rest else "")
    return None


def _split(target: str) -> tuple[str, str]:
    """`..a.b` -> (`..a`, `b`); `._generated` -> (`.`, `_generated`): a `from X import Y` pair."""
    stripped = target.lstrip(".")
    dots = target[: len(target) - len(stripped)]
    parent, _, last = stripped.rpartition(".")
    return dots + parent, last


def _rewrite_import(node: ast.Import, *, depth: int, counter: list[int]) -> str | None:
    """`import monite_generated.models` and friends, as relative statements binding the same names."""
    statements: list[str] = []
    touched = False
    for alias in node.names:
        target = relative_target(alias.name, depth=depth)
        if target is None:
            statements.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
            continue
        touched = True
        bound = alias.asname or alias.name.partition(".")[0]
        if alias.asname is None and "." in alias.name:
            # `import pkg.sub` binds `pkg` and loads `pkg.sub`: do both.
            head_target = relative_target(alias.name.partition(".")[0], depth=depth)
            assert head_target is not None
            counter[0] += 1
            parent, last = _split(target)
            loaded = f"_vendored_submodule_{counter[0]}"
            statements += [f"from {parent} import {last} as {loaded}", f"del {loaded}"]
            target = head_target
        if target.strip("."):
            parent, last = _split(target)
            statements.append(f"from {parent} import {last} as {bound}")
        else:
            # The facade's own root package: a relative `from` cannot name it, import_module can.
            statements.append(f"{bound} = __import__('importlib').import_module({target!r}, __package__)")
    return "; ".join(statements) if touched else None


def _logger_name_edit(node: ast.Call, package: str) -> Edit | None:
    """`logging.getLogger("monite_async")` -> the copy logs under its own name."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name != "getLogger" or not node.args:
        return None
    arg = node.args[0]
    if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
        return None
    head, dot, rest = arg.value.partition(".")
    if head != FACADE:
        return None
    assert arg.end_lineno is not None
    assert arg.end_col_offset is not None
    return Edit(
        (arg.lineno, arg.col_offset), (arg.end_lineno, arg.end_col_offset), json.dumps(package + dot + rest)
    )


def rewrite_source(source: str, *, depth: int, package: str) -> str:
    """Rewrite one module's imports of the two original packages as relative imports.

    `depth` is how many packages deep the module's own package sits below the copy's root
    (0 for `NAME/x.py` and `NAME/__init__.py`, 1 for `NAME/testing/x.py`).
    """
    tree = ast.parse(source)
    edits: list[Edit] = []
    counter = [0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            target = relative_target(node.module, depth=depth)
            if target is not None:
                edits.append(_from_module_edit(source, node, target))
        elif isinstance(node, ast.Import):
            text = _rewrite_import(node, depth=depth, counter=counter)
            if text is not None:
                assert node.end_lineno is not None
                assert node.end_col_offset is not None
                edits.append(
                    Edit((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset), text)
                )
        elif isinstance(node, ast.Call):
            edit = _logger_name_edit(node, package)
            if edit is not None:
                edits.append(edit)
    return _apply(source, edits)


def _from_module_edit(source: str, node: ast.ImportFrom, target: str) -> Edit:
    """Replace just the module name of `from MODULE import ...`, keeping names and comments."""
    lines = source.splitlines(keepends=True)
    line = lines[node.lineno - 1].encode()
    after_from = node.col_offset + len(b"from")
    start = after_from + (len(line[after_from:]) - len(line[after_from:].lstrip()))
    assert node.module is not None
    # The module name may be written with spaces around its dots; find its end by the word "import".
    end = line.find(b"import", start)
    if end < 0:
        raise VendorError(f"line {node.lineno}: `from {node.module}` must be on one line with `import`")
    written = line[start:end].rstrip()
    if b"".join(written.split()).decode() != node.module:
        raise VendorError(f"line {node.lineno}: cannot locate module name {node.module!r} in {line!r}")
    return Edit((node.lineno, start), (node.lineno, start + len(written)), target)


def _apply(source: str, edits: list[Edit]) -> str:
    lines = [line.encode() for line in source.splitlines(keepends=True)]
    # Last edit first, so earlier positions stay valid.
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        (l1, c1), (l2, c2) = edit.start, edit.end
        head, tail = lines[l1 - 1][:c1], lines[l2 - 1][c2:]
        # A statement that spanned lines becomes one line plus blank ones: tracebacks keep their lines.
        lines[l1 - 1 : l2] = [head + edit.text.encode() + tail] + [b"\n"] * (l2 - l1)
    return b"".join(lines).decode()


def leftover_imports(source: str, *, filename: str) -> list[str]:
    """Every import of the original top-level names still in a module, as `file:line: text`."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        for name in names:
            if name.partition(".")[0] in (FACADE, GENERATED):
                found.append(
                    f"{filename}:{getattr(node, 'lineno', '?')}: {ast.get_source_segment(source, node)}"
                )
    return found


def verify(package_dir: Path) -> None:
    problems = []
    for path in sorted(package_dir.rglob("*.py")):
        problems += leftover_imports(path.read_text(encoding="utf-8"), filename=str(path))
    if problems:
        raise VendorError("the copy still imports the original packages:\n  " + "\n  ".join(problems))


def dependencies() -> tuple[list[str], list[str], list[str]]:
    """(runtime, testing, fast) requirements, as pyproject.toml states them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return list(project["dependencies"]), list(extras["testing"]), list(extras["fast"])


def source_revision() -> str:
    result = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=12"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown (not a git checkout)"


def package_version() -> str:
    """monite_async's version, from its one source (pyproject.toml's version is dynamic)."""
    module = ast.parse((ROOT / "monite_async" / "_version.py").read_text())
    for node in module.body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["__version__"]:
            return str(ast.literal_eval(node.value))
    raise VendorError("monite_async/_version.py sets no __version__")


def vendored_readme(package: str) -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    api_version = ""
    api_module = ROOT / "generated" / GENERATED / "api_version.py"
    for line in api_module.read_text().splitlines():
        if line.startswith("API_VERSION"):
            api_version = line.split("=", 1)[1].strip().strip("\"'")
    runtime, testing, fast = dependencies()
    return f"""# {package}: a vendored copy of monite_async

Written by `scripts/vendor.py` of {project["name"]} {package_version()} (git {source_revision()}),
Monite API version {api_version}. Do not edit: run the tool again to update it.

- `{package}/`: the facade (`monite_async`), imported as `{package}`;
- `{package}/{GENERATED_SUBPACKAGE}/`: the generated client (`monite_generated`);
- `{package}/testing/`: the fake Monite for tests.

Every import between them is relative, so this copy never imports an installed
`monite_async` or `monite_generated`, and its classes (errors included) are its own:
catch `{package}.MoniteError`, not `monite_async.MoniteError`.

## What the host SDK must depend on

Runtime (add to the host's `dependencies`):

{chr(10).join(f"- `{r}`" for r in runtime)}

Only for `{package}.testing` (add to the host's test or dev dependencies):

{chr(10).join(f"- `{r}`" for r in testing)}

Only if the host offers `{package}.aiohttp_transport()` (its error message names
monite-async's `fast` extra; these are what that extra installs):

{chr(10).join(f"- `{r}`" for r in fast)}

Python >= 3.11 (the generated code uses `typing.Self` and `enum.StrEnum`).
"""


def vendor(dest: Path, package: str, *, source_root: Path = ROOT) -> Path:
    """Write the copy to `dest/package` and verify it; return its folder."""
    if not package.isidentifier() or keyword.iskeyword(package) or package in (FACADE, GENERATED):
        raise VendorError(
            f"--package must be a Python identifier other than {FACADE}/{GENERATED}: {package!r}"
        )
    facade, generated = source_root / FACADE, source_root / "generated" / GENERATED
    for folder in (facade, generated):
        if not (folder / "__init__.py").is_file():
            raise VendorError(f"{folder} is not a package; run from a monite_async checkout")
    target = dest / package
    if target.exists() and not (target / MARKER).is_file():
        raise VendorError(
            f"{target} exists and was not written by this tool ({MARKER} missing); not touching it"
        )

    dest.mkdir(parents=True, exist_ok=True)
    # Build beside the target and swap at the end: a failed run leaves the previous copy alone.
    with tempfile.TemporaryDirectory(prefix=f".{package}-", dir=dest) as tmp:
        staging = Path(tmp) / package
        shutil.copytree(facade, staging, ignore=SKIPPED)
        if (staging / GENERATED_SUBPACKAGE).exists():
            raise VendorError(
                f"{FACADE} already has a {GENERATED_SUBPACKAGE} module; cannot place the client"
            )
        shutil.copytree(generated, staging / GENERATED_SUBPACKAGE, ignore=SKIPPED)
        for path in sorted(staging.rglob("*.py")):
            depth = len(path.relative_to(staging).parts) - 1
            source = path.read_text(encoding="utf-8")
            rewritten = rewrite_source(source, depth=depth, package=package)
            if rewritten != source:
                path.write_text(rewritten, encoding="utf-8")
        verify(staging)
        (staging / MARKER).write_text(vendored_readme(package), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dest", type=Path, required=True, help="folder to write the package into")
    parser.add_argument("--package", required=True, help="import name of the copy, such as `monite`")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        target = vendor(args.dest, args.package)
    except VendorError as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 2 if "--package" in str(exc) or "not touching" in str(exc) else 1
    count = sum(1 for _ in target.rglob("*.py"))
    print(f"vendor: wrote {target} ({count} modules); imports rewritten and verified; see {target / MARKER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
