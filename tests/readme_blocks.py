"""The Python blocks of the README and the docs pages, and the checkers a user would run on them.

The pages are README.md and every docs/*.md (PAGES, paths relative to the checkout). A block
is found by its page and the heading of its section (the text up to the next `##`/`###`
heading). A block whose first line is `# NAME.py` is that file of the user's project
(docs/testing.md has three: `# conftest.py`, `# test_domains.py`, `# test_domains_sync.py`).

`wrap_fragment` is the one documented way a block that is a fragment (it uses names such
as `monite` that its section's prose introduces, and a top-level `await`) becomes a
module: its imports stay at the top, every other line goes, indented, into
`async def readme_example(<params>) -> None:`, with the params given by the test. Only
fragments are wrapped; every other block is checked exactly as written. A wrapped fragment
may leave imports and variables unused (ruff F401/F841, pyright's reportUnusedImport and
reportUnusedVariable are off for it, nothing else).

The checkers run as a user's would, from a folder outside this checkout, so `monite_async`
is whatever the interpreter has installed (`make install` installs it editable: the same
source files, reached through site-packages' `.pth`, not through the working directory):

- `mypy --strict`, with no config file of ours (the folder has none);
- pyright in strict mode (a `pyrightconfig.json` written into the folder);
- neither may be silenced: a block with `type: ignore`, `pyright: ignore`, `cast(` or
  `Any` fails before the checkers run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
FORBIDDEN = re.compile(r"type:\s*ignore|pyright:\s*ignore|\bcast\(|\bAny\b")


def section(heading: str, page: str = "README.md") -> str:
    """The text of `page` under `heading`, up to the next `##`/`###` heading."""
    text = "\n" + (ROOT / page).read_text()  # a page's title is its first line
    start = text.index(f"\n{heading}\n")
    following = re.search(r"\n#{2,3} ", text[start + len(heading) + 2 :])
    end = start + len(heading) + 2 + following.start() if following else len(text)
    return text[start:end]


def code_blocks(language: str, heading: str, page: str = "README.md") -> list[str]:
    """The ```language blocks of the section under `heading` of `page`."""
    return re.findall(rf"```{language}\n(.*?)```", section(heading, page), flags=re.DOTALL)


def python_blocks(heading: str, page: str = "README.md") -> list[str]:
    """The ```python blocks of the section under `heading` of `page`, up to the next heading."""
    return code_blocks("python", heading, page)


def headings_with_python_blocks(page: str = "README.md") -> list[str]:
    """Every `#`/`##`/`###` heading of `page` whose section holds a ```python block, in order.

    A page's title (`# ...`) counts as the heading of the text before its first `##`."""
    found: list[str] = []
    heading = ""
    in_fence = False
    for line in (ROOT / page).read_text().splitlines():
        if line.startswith("```"):
            if not in_fence and line == "```python" and heading not in found:
                found.append(heading)
            in_fence = not in_fence
        elif not in_fence and re.match(r"#{1,3} ", line):
            heading = line
    return found


def file_name_of(block: str) -> str:
    """`NAME.py` from a block's first line `# NAME.py`."""
    match = re.fullmatch(r"# (\w+\.py)", block.splitlines()[0])
    assert match, f"the block does not start with '# NAME.py': {block.splitlines()[0]!r}"
    return match.group(1)


def wrap_fragment(block: str, params: str, *, param_imports: tuple[str, ...] = ()) -> str:
    """A fragment as a module: imports first, the rest inside `async def readme_example(params)`.

    `param_imports` are the import lines the params' annotations need (`from monite_async
    import MoniteClient` for `monite: MoniteClient`).
    """
    imports = [line for line in block.splitlines() if line.startswith(("from ", "import "))]
    body = [line for line in block.splitlines() if line and line not in imports]
    if all(line.lstrip().startswith("#") for line in body):
        body.append("return")  # only comments: a function needs a statement
    header = f"async def readme_example({params}) -> None:"
    return "\n".join([*param_imports, *imports, "", "", header, *("    " + line for line in body), ""])


def type_checker_runs(
    folder: Path, files: list[str], *, extra_paths: tuple[Path, ...] = (), fragment: bool = False
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """mypy --strict and strict pyright on `files` in `folder`, as they finished (not judged).

    `extra_paths` come before site-packages for both checkers (a vendored copy, a regenerated
    project). For a wrapped fragment (`fragment=True`) pyright does not report unused imports
    and variables: a fragment shows names, it need not use them.
    """
    for name in files:
        text = (folder / name).read_text()
        assert not FORBIDDEN.search(text), f"{name} silences a checker or uses Any:\n{text}"
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("MYPYPATH", None)
    if extra_paths:
        env["MYPYPATH"] = os.pathsep.join(str(p) for p in extra_paths)
    mypy = subprocess.run(  # noqa: S603
        [str(BIN / "mypy"), "--strict", "--python-version=3.11", f"--cache-dir={folder / '.mypy'}", *files],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    config: dict[str, object] = {
        "typeCheckingMode": "strict",
        "pythonVersion": "3.11",
        "include": files,
        "extraPaths": [str(p) for p in extra_paths],
    }
    if fragment:
        config |= {"reportUnusedImport": False, "reportUnusedVariable": False}
    (folder / "pyrightconfig.json").write_text(json.dumps(config))
    pyright = subprocess.run(  # noqa: S603
        [str(BIN / "pyright"), "--pythonpath", sys.executable, "--project", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return mypy, pyright


def run_type_checkers(
    folder: Path, files: list[str], *, extra_paths: tuple[Path, ...] = (), fragment: bool = False
) -> str:
    """mypy --strict and strict pyright on `files` in `folder` (`type_checker_runs`); fails
    the test on any error. Returns both outputs."""
    mypy, pyright = type_checker_runs(folder, files, extra_paths=extra_paths, fragment=fragment)
    assert mypy.returncode == 0, "mypy --strict:\n" + mypy.stdout + mypy.stderr
    assert pyright.returncode == 0, "pyright (strict):\n" + pyright.stdout + pyright.stderr
    assert "0 errors, 0 warnings" in pyright.stdout, pyright.stdout
    return mypy.stdout + pyright.stdout
