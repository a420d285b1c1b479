"""The README is a front door and the docs pages say what is true of this checkout.

`make docs` (part of `make test`) builds the site with `mkdocs build --strict`, which checks
the links between docs pages, their anchors and the API reference. These checks are what
the build does not see: the README and CONTRIBUTING.md (outside the site), the commands
the pages print, and the lists of dependencies.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import tomllib

import pytest
from readme_blocks import PAGES, ROOT

import monite_async

TEXTS = [*PAGES, "CONTRIBUTING.md"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


# The folder beside the checkout that a user's clone does not have (spelled so that this file
# does not name it, see tests/project/test_standalone.py).
SHARED = ".." + "/shared"


def read(page: str) -> str:
    return (ROOT / page).read_text()


def test_the_readme_is_at_most_200_lines_and_starts_with_the_fake_and_the_quickstart() -> None:
    text = read("README.md")
    assert len(text.splitlines()) <= 200
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[:3] == ["Install", "A fake Monite in one command", "Quickstart"]
    assert "python -m monite_async.testing" in text


@pytest.mark.parametrize("page", ["README.md", "CONTRIBUTING.md"])
def test_the_links_outside_the_site_point_at_files_of_the_checkout(page: str) -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", read(page))
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert local or page == "CONTRIBUTING.md"
    for link in local:
        assert (ROOT / link).exists(), f"{page} links to {link}, which does not exist"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = read("README.md")
    for page in PAGES[1:]:
        if page != "docs/index.md" and page != "docs/reference.md":
            assert f"]({page})" in readme, page


def commands(page: str) -> list[str]:
    """The lines of the page's ```sh and ```console blocks, as commands (prompt and comment cut)."""
    found = []
    for block in re.findall(r"```(?:sh|console)\n(.*?)```", read(page), flags=re.DOTALL):
        for line in block.splitlines():
            line = line.removeprefix("$ ").strip()
            found.append(line.split("  #")[0].split(" #")[0].strip())
    return [line for line in found if line]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", read("Makefile"), flags=re.MULTILINE))


@pytest.mark.parametrize("page", TEXTS)
def test_the_make_targets_modules_and_scripts_a_page_names_exist(page: str) -> None:
    text = read(page)
    targets = makefile_targets()
    quoted = re.findall(r"`make ([a-z][\w-]*)", text)
    typed = [line.split()[1] for line in commands(page) if line.startswith("make ")]
    for target in quoted + typed:
        assert target in targets, f"{page}: `make {target}` is no Makefile target"
    for module in re.findall(r"python -m ([\w.]+)", text):
        assert importlib.util.find_spec(module) is not None, f"{page}: no module {module}"
    for script in re.findall(r"\b((?:scripts|tests|benchmarks)/[\w/]+\.py)\b", text):
        assert (ROOT / script).is_file(), f"{page}: {script} does not exist"
    for line in commands(page):
        assert SHARED not in line, f"{page}: a command reads {SHARED}: {line}"


def test_every_runtime_dependency_is_named_where_the_docs_list_them() -> None:
    names = [re.split(r"[<>=!~; \[]", requirement)[0] for requirement in PYPROJECT["project"]["dependencies"]]
    assert "anyio" in names
    install_comment = next(
        line for line in read("README.md").splitlines() if line.startswith("pip install .  ")
    )
    table = read("docs/dependencies.md").split("## Extras")[0]
    vendoring = next(line for line in read("docs/vendoring.md").splitlines() if "at runtime:" in line)
    for name in names:
        assert f"{name}," in install_comment or install_comment.endswith(name), (name, install_comment)
        assert f"| `{name}` |" in table, name
        assert f"`{name}" in vendoring, (name, vendoring)
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert f"`{requirement}`" in vendoring, requirement  # the same bounds as pyproject.toml


def test_the_api_reference_names_public_paths_only() -> None:
    identifiers = re.findall(r"^::: ([\w.]+)$", read("docs/reference.md"), flags=re.MULTILINE)
    assert "monite_async.MoniteClient" in identifiers
    documented = set()
    for identifier in identifiers:
        assert not any(part.startswith("_") for part in identifier.split(".")), identifier
        module, _, name = identifier.rpartition(".")
        if importlib.util.find_spec(identifier) is None:  # a name, not a module: importable from its parent
            assert hasattr(importlib.import_module(module), name), identifier
            if module == "monite_async":
                documented.add(name)
    # Every public class and function of monite_async has its entry (constants are on the pages).
    public = {
        name
        for name in monite_async.__all__
        if not name.isupper() and not name.startswith("_") and name not in {"UNSET"}
    }
    assert public <= documented, sorted(public - documented)


def test_the_tracing_example_says_what_it_needs_beyond_the_otel_extra() -> None:
    assert "pip install '.[otel]' opentelemetry-sdk" in commands("docs/tracing.md")
    assert PYPROJECT["project"]["optional-dependencies"]["otel"] == ["opentelemetry-api>=1.20"]
