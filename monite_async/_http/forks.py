"""What a forked child must not inherit from the process that forked it.

A module-level `MoniteSyncClient` used before a prefork server forks (gunicorn
`--preload`, Celery's prefork pool, `multiprocessing` with "fork") is copied into every
child: its pooled connections are the parent's sockets (two processes reading one answer
each get half of it, or hang), and a lock another thread of the parent held at the fork
stays held in the child for ever (nobody there will release it). So each part of a client
that holds such a thing registers how to start over (which starts it, and again in the
child, before the child runs anything else):

    class _ThreadSlots:
        def __init__(self, count: int) -> None:
            ...
            on_fork_in_child(self._start_over)  # a lock, no holders (in a child: none of the parent's)

Registered methods are held weakly: a client that is collected leaves nothing here.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

__all__ = ["on_fork_in_child"]

# Each reference drops itself from the list once what it refers to is collected (its callback:
# list.remove, atomic, so no lock that a fork could leave held).
_registry: list[weakref.ref[Callable[[], None]]] = []


def on_fork_in_child(start_over: Callable[[], None]) -> None:
    """Call `start_over`, a bound method (held weakly, as is its object), now (its object's
    first start), and again in a child right after `os.fork()`."""
    start_over()
    _registry.append(weakref.WeakMethod(start_over, _registry.remove))


def _start_over_in_child() -> None:
    for start_over in filter(None, [ref() for ref in _registry]):  # all held while any runs
        start_over()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_start_over_in_child)
