"""What an exception was raised from, for tests that look for the cause (an ssl.SSLError, a
refused connection) under the errors httpx and httpcore wrap it in."""

from __future__ import annotations


def chain(exc: BaseException) -> list[BaseException]:
    """`exc`, then what each was raised from or during, in turn (at most 10)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
