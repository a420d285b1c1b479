"""`make generate` and `make check-generated`, exercised on temporary copies of the project.

The real openapi/ and generated/ are never touched: each test copies what generation needs
(openapi/, scripts/, generated/, pyproject.toml, Makefile) and links the project's .venv.
The comparison of the fragment with upstream is in test_fragment_vs_upstream.py.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib
import inspect
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"
GENERATED = ROOT / "generated" / "monite_generated"
COPIED = ("openapi", "scripts", "generated", "monite_async", "pyproject.toml", "Makefile", ".gitignore")
OPERATIONS = {
    "mailbox_domains": {
        "get_mailbox_domains",
        "post_mailbox_domains",
        "delete_mailbox_domains_id",
        "post_mailbox_domains_id_verify",
    },
    "access_tokens": {"post_auth_token", "post_auth_revoke"},
}


def copy_project(dest: Path) -> Path:
    """A throwaway copy of what generation reads and writes, sharing this project's .venv."""
    dest.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".*cache"))
        else:
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    return dest


def make(project: Path, target: str) -> subprocess.CompletedProcess[str]:
    # -o: the install step is this project's business, not the copy's; never reinstall from a test.
    return subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", "-o", ".venv/.installed", target],  # noqa: S607
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def git(project: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    result = subprocess.run(  # noqa: S603
        ["git", *identity, *args],  # noqa: S607
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_has_all_six_operations_with_asyncio_detailed() -> None:
    spec = yaml.safe_load(FRAGMENT.read_text())
    in_fragment = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert in_fragment == set().union(*OPERATIONS.values())
    on_disk = {
        p.stem
        for p in (GENERATED / "api").rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }
    assert on_disk == in_fragment
    for tag, names in OPERATIONS.items():
        for name in names:
            module = importlib.import_module(f"monite_generated.api.{tag}.{name}")
            assert inspect.iscoroutinefunction(module.asyncio_detailed), name
            assert "client" in inspect.signature(module.asyncio_detailed).parameters, name
            assert "x_monite_version" in inspect.signature(module.asyncio_detailed).parameters, name


def test_api_version_is_written_from_the_fragment() -> None:
    from monite_generated.api_version import API_VERSION

    assert API_VERSION == yaml.safe_load(FRAGMENT.read_text())["info"]["version"] == "2024-05-25"


def test_make_generate_twice_is_byte_for_byte_deterministic(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "as checked in")
    before = tree_digest(project / "generated")

    for attempt in (1, 2):
        result = make(project, "generate")
        assert result.returncode == 0, result.stdout + result.stderr
        assert git(project, "status", "--porcelain", "--untracked-files=all") == "", f"run {attempt}"
        assert tree_digest(project / "generated") == before, f"run {attempt}"

    result = make(project, "check-generated")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches mailbox_domains.yaml" in result.stdout


def test_an_edited_fragment_fails_check_generated_naming_the_file(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    fragment = project / "openapi" / "mailbox_domains.yaml"
    spec = yaml.safe_load(fragment.read_text())
    # A new optional response field, as Monite adds them: only DomainResponse's model changes.
    spec["components"]["schemas"]["DomainResponse"]["properties"]["region"] = {"type": "string"}
    fragment.write_text(yaml.safe_dump(spec, sort_keys=False))

    result = make(project, "check-generated")
    assert result.returncode != 0
    named = [line.strip() for line in result.stdout.splitlines() if line.startswith("  generated/")]
    assert named == ["generated/monite_generated/models/domain_response.py: content differs"], result.stdout
    assert "make generate" in result.stdout

    result = make(project, "generate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "region" in (project / "generated" / "monite_generated" / "models" / "domain_response.py").read_text()
    )
    assert make(project, "check-generated").returncode == 0


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("stale file", "generated/monite_generated/models/leftover.py: not produced by the generator"),
        ("removed file", "generated/monite_generated/api_version.py: missing from generated/"),
    ],
)
def test_check_generated_names_stale_and_missing_files(tmp_path: Path, where: str, expected: str) -> None:
    project = copy_project(tmp_path / "project")
    package = project / "generated" / "monite_generated"
    if where == "stale file":
        (package / "models" / "leftover.py").write_text("x = 1\n")
    else:
        (package / "api_version.py").unlink()
    result = make(project, "check-generated")
    assert result.returncode != 0
    assert expected in result.stdout


def test_a_relative_spec_path_is_read_from_where_the_command_runs(tmp_path: Path) -> None:
    # The generator runs in a temporary folder; a relative --spec must still mean the
    # caller's file, not one beside that folder.
    result = subprocess.run(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "python"),
            str(ROOT / "scripts" / "generate.py"),
            "--check",
            "--spec",
            "mailbox_domains.yaml",
        ],
        cwd=ROOT / "openapi",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches mailbox_domains.yaml" in result.stdout


def test_generation_and_the_drift_check_use_our_template(tmp_path: Path) -> None:
    # openapi/templates/types.py.jinja gives Unset its repr. An edit of the template is drift
    # like an edit of the fragment: check-generated names the file, generate rewrites it.
    project = copy_project(tmp_path / "project")
    assert 'return "UNSET"' in (project / "generated" / "monite_generated" / "types.py").read_text()
    template = project / "openapi" / "templates" / "types.py.jinja"
    template.write_text(template.read_text().replace('return "UNSET"', 'return "<unset>"'))

    stale = make(project, "check-generated")
    assert stale.returncode != 0
    assert "generated/monite_generated/types.py: content differs" in stale.stdout
    assert make(project, "generate").returncode == 0
    assert 'return "<unset>"' in (project / "generated" / "monite_generated" / "types.py").read_text()
    assert make(project, "check-generated").returncode == 0


# What our copies change in the pinned generator's templates (openapi/DEVIATIONS.md): the
# httpx2 import, the endpoint modules' OPERATION_ID (how `call(module)` is typed), PATH,
# REQUIRES_AUTH and a success status of another API version parsed as the declared one; the
# models' imports of the models they hold, made once at the end of the module; lenient enums;
# UUID header values written as text.
_LAZY_IMPORTS_INSIDE = [
    "-    {% for lazy_import in model.lazy_imports | sort %}",
    "-        {{ lazy_import }} # noqa: PLC0415",
    "-    {% endfor %}",
]
TEMPLATE_CHANGES = {
    "model.py.jinja": [
        "-{% for lazy_import in model.lazy_imports | sort %}",
        "-{% if loop.first %}",
        "-if TYPE_CHECKING:",
        "-{% endif %}",
        "-  {{ lazy_import }}",
        "-{% endfor %}",
        *_LAZY_IMPORTS_INSIDE * 3,  # to_dict, to_multipart, from_dict
        "+",
        "+",
        "+{% for lazy_import in model.lazy_imports | sort %}",
        "+{% if loop.first %}",
        "+# The models this one holds, imported after its class (see the template's header).",
        "+{% endif %}",
        "+{{ lazy_import }}",
        "+{% endfor %}",
    ],
    "client.py.jinja": ["-import httpx", "+import httpx2 as httpx"],
    "endpoint_module.py.jinja": [
        "-from typing import Any, cast",
        "+from typing import Any, Final, cast",
        "-import httpx",
        "+import httpx2 as httpx",
        "+",
        '+OPERATION_ID: Final = "{{ python_identifier(endpoint.name) }}"',
        '+"""The operation this module calls; its literal type tells the module apart from every other."""',
        '+PATH: Final = "{{ endpoint.path | in_double_quote_literal }}"',
        '+REQUIRES_AUTH: Final = {{ "True" if endpoint.requires_security else "False" }}',
        "+    {% for response in endpoint.responses.patterns if 200 <= response.status_code.range[0] < 300 %}",  # noqa: E501
        "+    {% if loop.first %}",
        "+    if 200 <= response.status_code < 300:",
        "+        {{ parse_response(parsed_responses, response) | indent(8) }}",
        "+    {% endif %}",
        "+    {% endfor %}",
    ],
    "str_enum.py.jinja": [
        "+",
        "+from ..types import lenient_member",
        "+",
        "+    @classmethod",
        '+    def _missing_(cls, value: object) -> "{{ enum.class_info.name }} | None":',
        "+        return lenient_member(cls, value)",
    ],
    "property_templates/uuid_property.py.jinja": [
        "+{% macro transform_header(source) %}",
        "+str({{ source }})",
        "+{% endmacro %}",
        "+",
    ],
}


@pytest.mark.parametrize("name", sorted(TEMPLATE_CHANGES))
def test_the_template_copies_differ_from_the_generators_by_the_listed_lines_alone(name: str) -> None:
    # Any other drift from the pinned generator's template would be an unreviewed fork of it.
    generator = importlib.import_module("openapi_python_client")
    theirs = (Path(inspect.getfile(generator)).parent / "templates" / name).read_text().splitlines()
    ours = (ROOT / "openapi" / "templates" / name).read_text().splitlines()
    header_end = next(n for n, line in enumerate(ours) if line.rstrip().endswith("#}"))
    body = ours[header_end + 1 :]
    changed = [
        line
        for line in difflib.unified_diff(theirs, body, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == TEMPLATE_CHANGES[name]
    httpx_importers = [p for p in GENERATED.rglob("*.py") if "import httpx" in p.read_text().splitlines()]
    assert httpx_importers == []


def test_no_generated_model_imports_inside_a_method() -> None:
    # A relative import inside from_dict resolves the package on every call; the models
    # import what they hold once, at the end of the module (openapi/templates/model.py.jinja).
    # An import of an `additionalProperties` model would still land inside from_dict: the
    # template copy keeps the generator's loop for it (openapi/DEVIATIONS.md).
    inside = [
        f"{path.name}:{node.lineno}"
        for path in sorted((GENERATED / "models").glob("*.py"))
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    held = (GENERATED / "models" / "domain_list_response.py").read_text()
    assert inside == []
    assert held.rstrip().endswith("from ..models.domain_response import DomainResponse")
