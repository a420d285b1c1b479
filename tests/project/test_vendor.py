"""scripts/vendor.py: the import rewriter, the tool's guard rails, and two vendored copies at work."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from readme_blocks import python_blocks, run_type_checkers, wrap_fragment
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "vendor.py"


vendor_tool = load_script("vendor")


def _run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603


@pytest.mark.parametrize(
    ("depth", "before", "after"),
    [
        (0, "from monite_generated.client import Client", "from ._generated.client import Client"),
        (
            0,
            "from monite_generated.api.mailbox_domains import get_mailbox_domains",
            "from ._generated.api.mailbox_domains import get_mailbox_domains",
        ),
        (0, "from monite_generated import models", "from ._generated import models"),
        (1, "from monite_async import MoniteClient", "from .. import MoniteClient"),
        (1, "from monite_async.testing import FakeMonite", "from ..testing import FakeMonite"),
        (
            0,
            "import monite_generated.api.access_tokens as tokens",
            "from ._generated.api import access_tokens as tokens",
        ),
        (0, "import monite_generated as gen", "from . import _generated as gen"),
        (
            0,
            "import monite_generated.models",
            "from ._generated import models as _vendored_submodule_1; del _vendored_submodule_1; "
            "from . import _generated as monite_generated",
        ),
        (1, "import monite_async.testing as t", "from .. import testing as t"),
        (
            0,
            "import monite_async",
            "monite_async = __import__('importlib').import_module('.', __package__)",
        ),
        (0, "import os, monite_async.sub as s", "import os; from . import sub as s"),
        (
            0,
            "from monite_generated . client import Client  # why",
            "from ._generated.client import Client  # why",
        ),
        (0, 'log = logging.getLogger("monite_async")', 'log = logging.getLogger("acme")'),
        (0, 'log = logging.getLogger("monite_async.retry")', 'log = logging.getLogger("acme.retry")'),
    ],
)
def test_rewrite_source_makes_imports_relative(depth: int, before: str, after: str) -> None:
    assert vendor_tool.rewrite_source(before + "\n", depth=depth, package="acme") == after + "\n"


def test_rewrite_leaves_everything_else_alone_and_keeps_line_numbers() -> None:
    source = textwrap.dedent(
        '''\
        """Docs mention `import monite_async` and monite_generated.api."""
        import httpx2
        from monite_generated.api.mailbox_domains import (  # the operations
            get_mailbox_domains,
            post_mailbox_domains,
        )
        from .sibling import thing
        from monite_async_extras import unrelated

        NAME = "monite_generated.models"


        def later():
            from monite_generated.errors import UnexpectedStatus

            return UnexpectedStatus
        '''
    )
    rewritten = vendor_tool.rewrite_source(source, depth=0, package="acme")
    assert rewritten.count("\n") == source.count("\n")
    expected = source.replace(
        "from monite_generated.api.mailbox_domains import (", "from ._generated.api.mailbox_domains import ("
    ).replace("from monite_generated.errors import", "from ._generated.errors import")
    assert rewritten == expected
    assert vendor_tool.leftover_imports(rewritten, filename="x.py") == []
    ast.parse(rewritten)


def test_leftover_imports_finds_every_form() -> None:
    source = textwrap.dedent(
        """\
        import monite_async
        from monite_generated.models import X
        import importlib
        m = importlib.import_module("monite_generated.api")
        n = __import__("monite_async.testing")
        from . import fine
        import httpx2
        """
    )
    found = vendor_tool.leftover_imports(source, filename="m.py")
    assert [line.split(":")[1] for line in found] == ["1", "2", "4", "5"]


def _fake_source_root(tmp_path: Path, extra_module: str) -> Path:
    root = tmp_path / "src"
    (root / "monite_async").mkdir(parents=True)
    (root / "monite_async" / "__init__.py").write_text("from monite_generated import x\n")
    (root / "monite_async" / "dynamic.py").write_text(extra_module)
    (root / "generated" / "monite_generated").mkdir(parents=True)
    (root / "generated" / "monite_generated" / "__init__.py").write_text("x = 1\n")
    return root


def test_an_import_the_tool_cannot_rewrite_fails_verification(tmp_path: Path) -> None:
    root = _fake_source_root(tmp_path, 'import importlib\nmod = importlib.import_module("monite_async.x")\n')
    with pytest.raises(vendor_tool.VendorError, match=r"dynamic\.py:2: importlib\.import_module"):
        vendor_tool.vendor(tmp_path / "out", "acme", source_root=root)
    assert not (tmp_path / "out" / "acme").exists(), "a failed run writes nothing"


def test_vendor_on_a_small_tree_writes_the_layout(tmp_path: Path) -> None:
    root = _fake_source_root(tmp_path, "from monite_async import x\n")
    target = vendor_tool.vendor(tmp_path / "out", "acme", source_root=root)
    assert (target / "__init__.py").read_text() == "from ._generated import x\n"
    assert (target / "dynamic.py").read_text() == "from . import x\n"
    assert (target / "_generated" / "__init__.py").read_text() == "x = 1\n"
    notes = (target / "VENDORED.md").read_text()
    for requirement in ("httpx2", "attrs", "sniffio", "starlette", "uvicorn", "httpx-aiohttp"):
        assert requirement in notes


@pytest.mark.parametrize("name", ["monite_async", "monite_generated", "not-an-identifier", "class", "a.b"])
def test_bad_package_names_are_refused(tmp_path: Path, name: str) -> None:
    result = _run_tool("--dest", str(tmp_path), "--package", name)
    assert result.returncode == 2
    assert "--package" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_folder_it_did_not_write_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "monite").mkdir()
    (tmp_path / "monite" / "precious.py").write_text("keep = True\n")
    result = _run_tool("--dest", str(tmp_path), "--package", "monite")
    assert result.returncode == 2
    assert "not written by this tool" in result.stderr
    assert [p.name for p in (tmp_path / "monite").iterdir()] == ["precious.py"]


def test_running_again_replaces_the_copy(tmp_path: Path) -> None:
    assert _run_tool("--dest", str(tmp_path), "--package", "monite").returncode == 0
    stale = tmp_path / "monite" / "removed_upstream.py"
    stale.write_text("x = 1\n")
    result = _run_tool("--dest", str(tmp_path), "--package", "monite")
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert (tmp_path / "monite" / "VENDORED.md").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["monite"], "no staging folder is left behind"


def test_the_real_copy_has_no_import_of_the_original_names(tmp_path: Path) -> None:
    target = vendor_tool.vendor(tmp_path, "acme_monite")
    assert (target / "_generated" / "api" / "mailbox_domains" / "get_mailbox_domains.py").is_file()
    assert (target / "testing" / "_fake.py").is_file()
    assert (target / "py.typed").is_file()
    assert not list(target.rglob("__pycache__"))
    for path in target.rglob("*.py"):
        source = path.read_text()
        assert vendor_tool.leftover_imports(source, filename=str(path)) == []
        relative = path.relative_to(target)
        original = (
            ROOT / "generated" / "monite_generated" / relative.relative_to("_generated")
            if relative.parts[0] == "_generated"
            else ROOT / "monite_async" / relative
        )
        assert source.count("\n") == original.read_text().count("\n"), relative


# The host program: imports the installed monite_async and two vendored copies side by side.
HOST_PROGRAM = textwrap.dedent(
    """
    import asyncio
    import sys
    from pathlib import Path

    import monite_async
    import monite_async.testing
    import monite_generated
    import monite_generated.api.mailbox_domains.get_mailbox_domains
    import acme_monite
    import acme_monite.testing
    import globex_sdk._vendor.monite as globex
    import globex_sdk._vendor.monite.testing

    tmp, repo = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    copies = {"acme": acme_monite, "globex": globex}

    assert Path(monite_async.__file__).resolve().is_relative_to(repo), monite_async.__file__
    assert Path(monite_generated.__file__).resolve().is_relative_to(repo), monite_generated.__file__
    for name, package in copies.items():
        # Every module of a copy is loaded from the copy: nothing resolves to the installed packages.
        loaded = [m for m in list(sys.modules.values()) if (m.__name__ or "").startswith(package.__name__)]
        assert len(loaded) > 20, (name, len(loaded))
        for module in loaded:
            file = getattr(module, "__file__", None)
            assert file is None or Path(file).resolve().is_relative_to(tmp), (name, module.__name__, file)
        assert package.MoniteClient is not monite_async.MoniteClient
        assert package.MoniteError is not monite_async.MoniteError
        assert package.DomainResponse is not monite_generated.models.DomainResponse
        assert package.API_VERSION == monite_async.API_VERSION
    assert acme_monite.MoniteClient is not globex.MoniteClient
    assert acme_monite._generated.client.Client is not globex._generated.client.Client


    async def exercise(package, generated, *, socket: bool) -> str:
        fake = package.testing.FakeMonite()
        fake.faults.fail_next("get_mailbox_domains", status=500)

        async def run(base_url, transport):
            async with package.MoniteClient(
                client_id=fake.client_id, client_secret=fake.client_secret,
                base_url=base_url, transport=transport, retry_policy=package.RetryPolicy(sleep=nap),
            ) as monite:
                created = await monite.mailbox_domains.create("mail.example.com")
                listing = await monite.mailbox_domains.list()
                via_call = await monite.call(generated.api.mailbox_domains.get_mailbox_domains)
                try:
                    await monite.mailbox_domains.delete("3fa85f64-5717-4562-b3fc-2c963f66afa6")
                except package.NotFoundError as exc:
                    missing = exc
                else:
                    raise AssertionError("deleting an unknown domain must raise NotFoundError")
            assert type(created) is package.DomainResponse, type(created)
            assert [d.domain for d in listing] == ["mail.example.com"]
            assert type(via_call) is generated.models.DomainListResponse
            assert isinstance(missing, package.MoniteError)
            # A copy's errors are its own: the installed package's `except` clauses do not see them.
            assert isinstance(missing, monite_async.MoniteError) == (package is monite_async)
            return created.domain

        if socket:
            async with fake.serve() as base_url:
                assert base_url.startswith("http://127.0.0.1:"), base_url
                domain = await run(base_url, None)
        else:
            domain = await run(fake.base_url, fake.transport())
        # The scripted 500 was retried; the token was fetched once and sent.
        listed = fake.requests_to("get_mailbox_domains")
        assert [r.status for r in listed] == [500, 200, 200], [r.status for r in listed]
        assert fake.token_requests == 1
        return domain


    async def nap(seconds: float) -> None:
        return None


    async def main() -> None:
        results = [
            await exercise(acme_monite, acme_monite._generated, socket=True),
            await exercise(globex, globex._generated, socket=False),
            await exercise(monite_async, monite_generated, socket=False),
        ]
        print("VENDORED OK", results)


    asyncio.run(main())
    """
)


def test_two_vendored_copies_and_the_installed_package_in_one_interpreter(tmp_path: Path) -> None:
    sdk_a = tmp_path / "sdk_a"
    assert _run_tool("--dest", str(sdk_a), "--package", "acme_monite").returncode == 0
    # The second copy lives inside a host package, as an SDK would keep it: relative imports make that work.
    host = tmp_path / "sdk_b" / "globex_sdk"
    (host / "_vendor").mkdir(parents=True)
    (host / "__init__.py").write_text("")
    (host / "_vendor" / "__init__.py").write_text("")
    result = _run_tool("--dest", str(host / "_vendor"), "--package", "monite")
    assert result.returncode == 0, result.stderr

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(sdk_a), str(tmp_path / "sdk_b")]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-c", HOST_PROGRAM, str(tmp_path), str(ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VENDORED OK ['mail.example.com', 'mail.example.com', 'mail.example.com']" in run.stdout


def test_the_copy_type_checks_strictly_and_has_no_unused_import(tmp_path: Path) -> None:
    # A host SDK type-checks and lints its tree; the rewritten imports must not break either.
    vendor_tool.vendor(tmp_path / "src", "acme_monite")
    bin_dir = Path(sys.executable).parent
    mypy = subprocess.run(  # noqa: S603
        [str(bin_dir / "mypy"), "--strict", "--cache-dir", str(tmp_path / ".mypy"), "acme_monite"],
        cwd=tmp_path / "src",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    ruff = subprocess.run(  # noqa: S603
        [str(bin_dir / "ruff"), "check", "--isolated", "--no-cache", "--select", "F", "acme_monite"],
        cwd=tmp_path / "src",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_the_readme_block_type_checks_against_a_copy_vendored_as_host_sdk(tmp_path: Path) -> None:
    """The "Vendoring" block of docs/vendoring.md, under mypy --strict and strict pyright, against a copy
    vendored exactly as the README's command does (`host_sdk/_vendor/monite`), the host's
    source folder first on both checkers' paths. The block is a list of imports (a fragment:
    nothing uses them), so it is wrapped as tests/readme_blocks.py documents."""
    src = tmp_path / "src"
    host = src / "host_sdk"
    (host / "_vendor").mkdir(parents=True)
    for package in (host, host / "_vendor"):
        (package / "__init__.py").write_text("")
        (package / "py.typed").write_text("")
    vendor_tool.vendor(host / "_vendor", "monite")
    (block,) = python_blocks("# Vendoring", "docs/vendoring.md")
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "vendoring.py").write_text(wrap_fragment(block, ""))
    run_type_checkers(checks, ["vendoring.py"], extra_paths=(src,), fragment=True)
