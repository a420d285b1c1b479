"""MoniteSyncClient's send gate under threads: connection slots first come first served,
close() while threads are in flight, a slot never lost to an exception, over real sockets
(tests/loopback_server.py). Every loop is bounded in count, every wait in time."""

from __future__ import annotations

import collections
import inspect
import pathlib
import ssl
import sys
import threading
import time
import types
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any

import anyio
import httpx2
import pytest
from loopback_server import LoopbackServer, Recorded, Reply

from monite_async import MoniteError
from monite_async._flow.drive import ThreadPrimitive as _ThreadSlots
from monite_async._flow.drive import drive, drive_blocking

THREADS = 12
CONNECTIONS = 2
CALLS_PER_THREAD = 15
JOIN_TIMEOUT = 60.0


def test_threads_through_a_small_pool_are_served_first_come_first_served(
    server: LoopbackServer,
) -> None:
    # Each thread calls as fast as it can. A thread that gives its slot back and asks at
    # once must queue behind the threads already waiting, so every thread gets its turn.
    per_thread: collections.Counter[int] = collections.Counter()
    failures: list[str] = []
    calls_wanted = THREADS * CALLS_PER_THREAD
    stop = threading.Event()
    start = threading.Barrier(THREADS, timeout=JOIN_TIMEOUT)  # all in the race at once
    timeout = httpx2.Timeout(10.0, pool=2.0)  # the pool serves all the time: nobody waits 2 s
    with server.sync_client(
        limits=httpx2.Limits(max_connections=CONNECTIONS), timeout=timeout, max_retries=0
    ) as monite:
        monite.mailbox_domains.list()  # the token, and the rate window, first

        def work(number: int) -> None:
            start.wait()
            for _ in range(calls_wanted):  # bounded: one thread can at most make them all
                if stop.is_set():
                    return
                try:
                    monite.mailbox_domains.list()
                except MoniteError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                per_thread[number] += 1
                if sum(per_thread.values()) >= calls_wanted:
                    stop.set()

        threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        stop.set()
        assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    counts = [per_thread[n] for n in range(THREADS)]
    # First come first served: the threads take turns, so no thread is ahead of another by
    # more than a few calls (the last round is cut short by `stop`). A semaphore that lets
    # the releasing thread take its slot straight back gives 1 call to some, 100 to others.
    assert max(counts) - min(counts) <= 4, counts


def test_an_interrupt_right_after_a_slot_is_taken_gives_the_slot_back(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A KeyboardInterrupt (a signal's handler runs between any two bytecodes) landing the
    # moment the slot is taken, before the code that gives it back has started.
    limits = httpx2.Limits(max_connections=CONNECTIONS)
    timeout = httpx2.Timeout(10.0, pool=0.5)  # a lost slot: a PoolTimeout soon, not a hang
    with server.sync_client(limits=limits, timeout=timeout, max_retries=0) as monite:
        monite.mailbox_domains.list()
        slots = monite._core.flow.slots
        assert isinstance(slots, _ThreadSlots)
        take = slots.take  # a free slot is taken without waiting (the flow asks no step for it)

        def take_then_interrupted(holder: object) -> bool:
            take(holder)
            raise KeyboardInterrupt("as from SIGINT")

        monkeypatch.setattr(slots, "take", take_then_interrupted)
        for _ in range(CONNECTIONS + 1):  # more than there are slots: none may be lost
            with pytest.raises(KeyboardInterrupt):
                monite.mailbox_domains.list()
        assert slots.free == CONNECTIONS
        monkeypatch.undo()
        assert monite.mailbox_domains.list() == []  # with no slot lost, no wait for one either
    assert server.count("GET", "/mailbox_domains") == 2


def test_close_wakes_the_threads_waiting_for_an_answer_at_once(server: LoopbackServer) -> None:
    _close_wakes_every_thread(server)


def test_close_wakes_the_threads_reading_over_tls_at_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The TLS handshake takes the socket over from the TCP stream the pool connected: the
    # socket shut down must be the one the TLS stream reads.
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(served)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the client's own pool trusts the test's CA
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    server = LoopbackServer(ssl_context=served)
    server.open()
    try:
        _close_wakes_every_thread(server)
    finally:
        server.close()


def _close_wakes_every_thread(server: LoopbackServer) -> None:
    # Two threads wait on their answers (10 s away), two for a slot; close() fails them all
    # now with ClientStateError, as MoniteClient.aclose() does its tasks: closing a socket
    # does not wake a thread blocked reading it, shutting it down does.
    in_flight = threading.Semaphore(0)

    def slow(request: Recorded) -> Reply:
        in_flight.release()
        return Reply(200, json={"data": []}, delay=10.0)

    server.script("GET", "/mailbox_domains", *[slow] * 4)
    outcomes: list[str] = []
    monite = server.sync_client(limits=httpx2.Limits(max_connections=CONNECTIONS), max_retries=0)

    def call() -> None:
        try:
            monite.mailbox_domains.list()
            outcomes.append("answered")
        except MoniteError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=call, daemon=True) for _ in range(2 * CONNECTIONS)]
    for thread in threads:
        thread.start()
    for _ in range(CONNECTIONS):
        assert in_flight.acquire(timeout=JOIN_TIMEOUT)
    started = time.monotonic()
    monite.close()
    for thread in threads:
        thread.join(max(0.0, started + 5.0 - time.monotonic()))
    took = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), f"still waiting {took:.1f} s after close()"
    assert outcomes == ["ClientStateError"] * len(threads)
    assert took < 3.0
    assert server.count("GET", "/mailbox_domains") == CONNECTIONS  # the queued ones never sent


def _interrupt_once_at(code: types.CodeType, text: str) -> Callable[[], None]:
    """Raise KeyboardInterrupt once, as a signal's handler would, at the line of `code`
    holding `text`; returns what puts the previous trace function back."""
    source, first = inspect.getsourcelines(code)
    line = next(first + n for n, body in enumerate(source) if text in body)
    fired: list[bool] = []

    def local(frame: types.FrameType, event: str, arg: object) -> Any:
        if event == "line" and frame.f_lineno == line and not fired:
            fired.append(True)
            raise KeyboardInterrupt("as from SIGINT")
        return local

    def tracer(frame: types.FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code is code else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    return lambda: sys.settrace(previous)


class _Steps:
    """A driver's I/O that does nothing (and has nothing to check)."""

    def check(self) -> None:
        return None

    def __call__(self, step: str) -> None:
        return None


class _AsyncSteps(_Steps):
    async def __call__(self, step: str) -> None:  # type: ignore[override]
        return None


def _flow(finished: list[str]) -> Generator[str, object, None]:
    try:
        yield "take a slot"
        yield "send"
    finally:
        finished.append("slot given back")


def test_a_flow_left_between_two_steps_by_an_interrupt_runs_its_finally_at_once() -> None:
    # Not when the flow is collected: the traceback (kept by pytest.raises here, by a REPL's
    # sys.last_traceback or an error tracker elsewhere) keeps the driver's frame and the flow.
    finished: list[str] = []
    restore = _interrupt_once_at(drive_blocking.__code__, "run.resume()")
    try:
        with pytest.raises(KeyboardInterrupt) as interrupted:
            drive_blocking(_flow(finished), _Steps())  # type: ignore[arg-type]
    finally:
        restore()
    assert finished == ["slot given back"]
    assert interrupted.tb is not None  # alive until here

    restore = _interrupt_once_at(drive.__code__, "run.resume()")
    try:
        with pytest.raises(KeyboardInterrupt) as interrupted:
            anyio.run(drive, _flow(finished), _AsyncSteps())
    finally:
        restore()
    assert finished == ["slot given back"] * 2
    assert interrupted.tb is not None


class _GatedLock:
    """A lock whose `nth` taker is held at the door (`arrived` set) until `go` is set."""

    def __init__(self, nth: int) -> None:
        self._lock = threading.Lock()
        self.arrived = threading.Event()
        self.go = threading.Event()
        self._nth = nth
        self._arrivals = 0

    def __enter__(self) -> None:
        self._arrivals += 1
        if self._arrivals == self._nth:
            self.arrived.set()
            assert self.go.wait(JOIN_TIMEOUT)
        self._lock.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()


def test_a_waiter_that_times_out_leaves_the_queue_and_the_next_slot_is_free_at_once() -> None:
    slots = _ThreadSlots(1)
    first, second, third = object(), object(), object()
    assert slots.acquire(first, 0.0)
    assert not slots.acquire(second, 0.01)
    slots.release(second)  # what the flow does after a failed take: nothing to give back
    slots.release(first)
    assert slots.free == 1
    assert slots.acquire(third, 0.0)  # nobody is left waiting: taken on the fast path


def test_a_slot_handed_over_just_as_the_wait_ran_out_is_kept_not_lost() -> None:
    slots = _ThreadSlots(1)
    first, second = object(), object()
    assert slots.acquire(first, 0.0)
    door = _GatedLock(nth=2)  # 1st: the waiter queues; 2nd: it comes back, its wait over
    slots._mutex = door  # type: ignore[assignment]
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire(second, 0.01)), daemon=True)
    waiter.start()
    assert door.arrived.wait(JOIN_TIMEOUT)
    slots.release(first)  # handed to the waiter, which has stopped waiting for it
    door.go.set()
    waiter.join(JOIN_TIMEOUT)
    assert got == [True]  # it has the slot: nobody else may take it, and it gives it back
    assert slots.free == 0
    slots.release(second)
    assert slots.free == 1
