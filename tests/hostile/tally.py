"""Counts of the hostile-server cases run and the promises they broke, for the summary line."""

from __future__ import annotations

import collections

PROMISES = ("escape", "overrun", "leak", "step")

cases = 0
broken: collections.Counter[str] = collections.Counter()
known: collections.Counter[str] = collections.Counter()


def record(found: list[str], *, known_open: list[str]) -> None:
    global cases
    cases += 1
    for promise in found:
        (known if promise in known_open else broken)[promise] += 1


def summary() -> str:
    counts = " ".join(f"{p}={broken[p]}" for p in PROMISES)
    open_counts = " ".join(f"{p}={known[p]}" for p in PROMISES if known[p])
    return f"hostile server: {cases} cases; broken promises: {counts}" + (
        f"; known open for the request flow (issue 29 classes 5, 6): {open_counts}" if open_counts else ""
    )
