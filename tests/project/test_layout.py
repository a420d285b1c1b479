"""The facade's house rules, checked: the layer map in `_client.py` is the import graph,
functions stay short, each error text is written once, the generated modules still
have the two private functions the facade relies on, and the tests mirror the rooms.

The tests live in one folder per room (TEST_FOLDERS below says which rooms each covers);
the helpers they share (loopback_server.py, event_loops.py, ...) stay at tests/'s top,
on pytest's `pythonpath`. A test goes in the folder of the room whose promise it checks,
whatever harness it uses: a retry over a socket is `flow/`, the fake's own behaviour is
`testing/`, the README, docs, packaging, generation and toolchain are `project/`.
"""

from __future__ import annotations

import ast
import collections
import importlib
import pkgutil
import re
from pathlib import Path

import monite_generated.api
import pytest

import monite_async._client
from monite_async._flow.operations import PRIVATE_FUNCTIONS, missing_private_functions

PACKAGE = Path(monite_async._client.__file__).parent
TESTS = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60

# Test folder -> the rooms of `_client.py`'s table whose tests it holds.
TEST_FOLDERS: dict[str, frozenset[str]] = {
    "lib": frozenset({"lib", "__main__"}),  # the CLI, DNS helpers, the demo; `python -m`
    "testing": frozenset({"testing"}),  # the fake Monite and its pytest plugin
    "client": frozenset({"_client", "__init__"}),  # the clients, views, `call()`, the public names
    "resources": frozenset({"resources"}),
    "core": frozenset({"_core"}),  # what a client and its views share: slots, close, the loop
    "redis": frozenset({"_redis"}),  # the Redis room and a fleet on it
    "flow": frozenset({"_flow"}),  # retries, admission, the token queue, cancellation, enums
    "auth": frozenset({"_auth"}),
    "http": frozenset({"_http"}),  # transports, backends, answers, forks, cookies
    "observability": frozenset({"_observability"}),
    "errors": frozenset({"_errors"}),
    # The whole stack against hostile servers (issue 29): every room's promise at once.
    "hostile": frozenset(),
    # The package as a whole: README, docs, packaging, generation, the toolchain, this file.
    "project": frozenset({"_defaults", "_version"}),
}


def layer_rows() -> list[set[str]]:
    """The rooms (`_flow`, `_client`, ...) of each row of the table in `_client.py`'s docstring, top first."""
    doc = monite_async._client.__doc__ or ""
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    return [
        {name.rstrip("/").removesuffix(".py") for name in re.findall(r"`([\w.]+/?)`", row.split("|")[1])}
        for row in rows
    ]


def room_of(path: Path) -> str:
    """`_flow` for monite_async/_flow/call.py, `_client` for monite_async/_client.py."""
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def own_imports(path: Path) -> set[str]:
    """The rooms of monite_async that `path` imports from (its relative imports, resolved)."""
    here = path.relative_to(PACKAGE).parts[:-1]  # the package of the file, below monite_async
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
        target = base + (node.module.split(".") if node.module else [])
        if target:
            found.add(target[0])
        else:  # `from .. import x` at the top of the package: x is a room itself
            found.update(alias.name for alias in node.names)
    return found


def test_every_room_has_a_row_in_the_layer_map() -> None:
    listed = set().union(*layer_rows())
    rooms = {
        p.name.removesuffix(".py")
        for p in PACKAGE.iterdir()
        if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    assert rooms == listed, f"not in the map: {rooms - listed}; gone: {listed - rooms}"


def test_at_most_twelve_modules_at_the_top_of_the_package() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 12, modules


def test_a_module_imports_only_its_own_room_and_the_rows_below() -> None:
    rows = layer_rows()
    row_of = {room: index for index, row in enumerate(rows) for room in row}
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = room_of(path)
        for imported in own_imports(path):
            if imported in row_of and imported != room and row_of[imported] <= row_of[room]:
                where = f"{path.relative_to(PACKAGE)} (row {row_of[room]})"
                upward.append(f"{where} imports {imported} (row {row_of[imported]})")
    assert upward == []


def test_every_room_has_a_test_folder() -> None:
    covered = set().union(*TEST_FOLDERS.values())
    listed = set().union(*layer_rows())
    assert covered == listed, f"no test folder: {listed - covered}; not a room: {covered - listed}"
    empty = [folder for folder in TEST_FOLDERS if not any((TESTS / folder).glob("test_*.py"))]
    assert empty == []


def test_every_test_file_lives_in_the_folder_of_a_room() -> None:
    misplaced = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("test_*.py"))
        if len(path.relative_to(TESTS).parts) != 2 or path.parent.name not in TEST_FOLDERS
    ]
    assert misplaced == []


def test_test_file_names_are_unique_across_folders() -> None:
    # pytest's default import mode imports a test file by its name alone (the folders have
    # no __init__.py), and tests/event_loops.py and scripts/other_pythons.py name suites by it.
    names = collections.Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []


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
