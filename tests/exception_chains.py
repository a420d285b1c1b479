"""What an exception was raised from, for tests that look for the cause (an ssl.SSLError, a
refused connection) under the errors httpx2 and httpcore2 wrap it in."""

from __future__ import annotations


def chain(exc: BaseException) -> list[BaseException]:
    """`exc`, what each was raised from or during, and the members of any exception group
    among them (Python 3.12+ reports each address's failed connect in one), at most 20."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < 20:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            todo += current.exceptions
    return found
