"""The pytest plugin makes retry waits instant for tests that use its fixtures, and only for them.

Run as a user's suite (a subprocess, no configuration but the README's conftest line), in
file order: the setting is on inside `fake_monite` tests, off with the documented opt-out,
and whatever it was before comes back after each test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SUITE = """
import pytest

import monite_async
from monite_async.testing import FakeMonite


def test_1_off_to_begin_with() -> None:
    assert not monite_async.is_testing()


def test_2_on_inside_fake_monite(fake_monite: FakeMonite) -> None:
    assert monite_async.is_testing()


def test_3_restored_after() -> None:
    assert not monite_async.is_testing()


@pytest.mark.fake_monite(instant_retries=False, verify_after=1)
def test_4_opt_out_keeps_real_waits(fake_monite: FakeMonite) -> None:
    assert not monite_async.is_testing()


def test_5_a_suite_that_turned_it_on_itself() -> None:
    monite_async.set_testing(True)


@pytest.mark.fake_monite(instant_retries=False)
def test_6_opt_out_turns_it_off_for_the_test(fake_monite: FakeMonite) -> None:
    assert not monite_async.is_testing()


def test_7_and_the_suites_own_setting_comes_back() -> None:
    assert monite_async.is_testing()


def test_8_the_server_fixture_too(fake_monite_server: str) -> None:
    assert monite_async.is_testing()
"""


def test_instant_retries_on_inside_the_fixtures_off_by_opt_out_restored_after(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["monite_async.testing.pytest_plugin"]\n')
    (tmp_path / "test_suite.py").write_text(SUITE)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-c", os.devnull, "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout
