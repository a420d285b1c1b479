"""The facade's house rules, checked: the layer map in `_client.py` is the import graph,
functions stay short, each error text is written once, and the generated modules still
have the two private functions the facade relies on."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import monite_generated.api
import pytest

import monite_async._client
from monite_async._generated_ops import PRIVATE_FUNCTIONS, missing_private_functions

PACKAGE = Path(monite_async._client.__file__).parent
MAX_FUNCTION_LINES = 60


def layer_rows() -> list[set[str]]:
    """The modules of each row of the layer table in `_client.py`'s docstring, top first."""
    doc = monite_async._client.__doc__ or ""
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    return [set(re.findall(r"`(_\w+)\.py`", row.split("|")[1])) for row in rows]


def own_imports(path: Path) -> set[str]:
    """The monite_async modules `path` imports (`from . import x`, `from ._x import y`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_every_facade_module_has_a_row_in_the_layer_map() -> None:
    listed = set().union(*layer_rows())
    modules = {p.stem for p in PACKAGE.glob("_*.py") if p.stem != "__init__"}
    assert modules == listed, f"not in the map: {modules - listed}; gone: {listed - modules}"


def test_a_module_imports_only_modules_below_its_row() -> None:
    rows = layer_rows()
    row_of = {module: index for index, row in enumerate(rows) for module in row}
    upward = [
        f"{module} (row {row_of[module]}) imports {imported} (row {row_of[imported]})"
        for module in row_of
        for imported in own_imports(PACKAGE / f"{module}.py")
        if imported in row_of and row_of[imported] <= row_of[module]
    ]
    assert upward == []


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


@pytest.mark.parametrize(
    "text",
    [
        "Could not reach Monite",
        "did not answer in time",
        "is closed; create a new one",
        "was closed while the call was in flight",
        "belongs to the event loop it was first used in",
        "is not a generated operation",
        "Monite refused the client credentials",
        "does not end in /v1",
    ],
)
def test_each_error_text_is_written_once(text: str) -> None:
    places = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if text in line and not line.lstrip().startswith("#")
    ]
    assert len(places) == 1, places


def operation_modules() -> list[str]:
    prefix = monite_generated.api.__name__ + "."
    return sorted(
        info.name for info in pkgutil.walk_packages(monite_generated.api.__path__, prefix) if not info.ispkg
    )


def test_the_generated_operations_are_all_found() -> None:
    assert len(operation_modules()) == 6


@pytest.mark.parametrize("name", operation_modules())
def test_every_generated_operation_has_the_private_functions_the_facade_uses(name: str) -> None:
    missing = missing_private_functions(importlib.import_module(name))
    assert missing == [], (
        f"{name} lacks {missing}: the generator no longer writes {PRIVATE_FUNCTIONS}; "
        "monite_async/_generated_ops.py must change with it"
    )
