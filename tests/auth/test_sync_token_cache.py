"""The blocking client's token cache over real sockets, with threads: one thread's deadline
never fails another, every wait for a token is bounded by the caller's own deadline, a
definite failure is shared with the calls already under way, and the lock cannot leak."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from loopback_server import STALE_MESSAGE, LoopbackServer, Recorded, Reply, error
from monite_generated.api.mailbox_domains import get_mailbox_domains

from monite_async import MoniteSyncClient, MoniteTimeoutError, ServerError
from monite_async._auth.tokens import CredentialsCache as SyncClientCredentialsProvider
from monite_async._flow import call as flow_module

FOUR = httpx2.Limits(max_connections=4, max_keepalive_connections=4)


def sync_client(server: LoopbackServer, **options: Any) -> MoniteSyncClient:
    return server.sync_client(**options)


def provider_of(monite: MoniteSyncClient) -> SyncClientCredentialsProvider:
    provider = monite._core.flow.tokens
    assert isinstance(provider, SyncClientCredentialsProvider)
    return provider


def wait_for(server: LoopbackServer, method: str, path: str, count: int = 1) -> None:
    for _ in range(500):
        if server.count(method, path) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{count} x {method} {path} never arrived")


def in_threads(*work: Callable[[], object]) -> list[object]:
    """Run each callable in its own thread; their results or exceptions, in order."""
    results: list[object] = [None] * len(work)

    def run(index: int) -> None:
        try:
            results[index] = work[index]()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def slow_token(seconds: float) -> Callable[[Recorded], Reply]:
    """A token request answered (with a valid token) only after `seconds`."""

    def answer(request: Recorded) -> Reply:
        return Reply(
            200, json={"access_token": "slow", "expires_in": 3600, "token_type": "Bearer"}, delay=seconds
        )

    return answer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- one thread's deadline is its own ---------------------------------------------------


def test_a_short_deadline_fails_only_its_own_thread_not_those_waiting_for_the_token(
    server: LoopbackServer,
) -> None:
    server.script("POST", "/auth/token", Reply(delay=30))  # the first token request hangs
    with sync_client(server) as monite:
        results: list[object] = []

        def impatient() -> object:
            return monite.with_options(deadline=0.5).mailbox_domains.create("a.example.com")

        def patient(name: str) -> Callable[[], object]:
            def create() -> object:
                wait_for(server, "POST", "/auth/token", 1)  # they queue behind the hanging fetch
                return monite.mailbox_domains.create(name)

            return create

        started = time.monotonic()
        results = in_threads(impatient, *(patient(f"p{i}.example.com") for i in range(3)))
        took = time.monotonic() - started
    assert isinstance(results[0], MoniteTimeoutError)
    assert [getattr(r, "domain", r) for r in results[1:]] == [
        "p0.example.com",
        "p1.example.com",
        "p2.example.com",
    ]
    assert server.count("POST", "/auth/token") == 2  # the next waiter fetched, once for all three
    assert took < 10


# -- every wait for the token is bounded by the caller's deadline -------------------------


@pytest.mark.parametrize("how", ["list", "call"])
def test_a_calls_deadline_bounds_the_token_fetch_it_runs(server: LoopbackServer, how: str) -> None:
    server.script("POST", "/auth/token", slow_token(4))
    with sync_client(server) as monite:
        hurried = monite.with_options(deadline=1.0)
        started = time.monotonic()
        with pytest.raises(MoniteTimeoutError):
            hurried.mailbox_domains.list() if how == "list" else hurried.call(get_mailbox_domains)
        assert time.monotonic() - started < 2.0
        assert monite.mailbox_domains.list() == []  # nothing of that failure is kept
    assert server.count("POST", "/auth/token") == 2


def test_a_calls_deadline_bounds_its_wait_for_a_replacement_token(server: LoopbackServer) -> None:
    server.valid_tokens.add("slow")
    with sync_client(server) as monite:
        monite.mailbox_domains.list()
        # Two calls in flight with the token, both refused: one fetches a replacement (4 s),
        # the other waits for it, each no longer than its own deadline.
        refused = Reply(401, json={"error": {"message": STALE_MESSAGE}}, delay=0.3)
        server.script("GET", "/mailbox_domains", refused, refused)
        server.script("POST", "/auth/token", slow_token(4))
        barrier = threading.Barrier(2)

        def patient() -> object:
            barrier.wait()
            return monite.mailbox_domains.list()

        def hurried() -> object:
            barrier.wait()
            started = time.monotonic()
            try:
                return monite.with_options(deadline=1.0).mailbox_domains.list()
            finally:
                took.append(time.monotonic() - started)

        took: list[float] = []
        slow, quick = in_threads(patient, hurried)
    assert slow == []
    assert isinstance(quick, MoniteTimeoutError)
    assert took[0] < 2.0


def test_a_replay_is_not_signed_with_a_replacement_that_went_stale_while_it_waited(
    server: LoopbackServer,
) -> None:
    clock = FakeClock()

    def replacement(request: Recorded) -> Reply:
        clock.now += 1000.0  # the replay waits past the replacement's refresh point
        return Reply(
            200, json={"access_token": "loopback-replacement", "expires_in": 100, "token_type": "Bearer"}
        )

    with sync_client(server) as monite:
        provider_of(monite).clock = clock
        monite.mailbox_domains.list()
        server.revoke_all_tokens()
        server.valid_tokens.add("loopback-replacement")
        server.script("POST", "/auth/token", replacement)
        assert monite.mailbox_domains.list() == []
    first, refused, replay = [r.headers["authorization"] for r in server.recorded("GET", "/mailbox_domains")]
    assert first == refused
    assert replay not in (first, "Bearer loopback-replacement")
    assert server.count("POST", "/auth/token") == 3


def test_a_failing_token_endpoint_fails_every_queued_thread_with_one_fetch(
    server: LoopbackServer, instant_retries: None
) -> None:
    # Each answer 50 ms late, so the fetch's wave (the calls it fails) outlasts a thread that
    # is descheduled between the barrier and its call on a loaded machine: with instant
    # answers, such a thread could begin its call after the wave had ended, and rightly fetch
    # again (the same margin as the 50-run race below).
    failures = [error(500, "auth is down") for _ in range(100)]
    for failure in failures:
        failure.delay = 0.05
    server.script("POST", "/auth/token", *failures)
    with sync_client(server, limits=FOUR) as monite:
        barrier = threading.Barrier(40)

        def call() -> object:
            barrier.wait()
            return monite.mailbox_domains.list()

        results = in_threads(*[call] * 40)
    assert all(isinstance(r, ServerError) and r.operation == "post_auth_token" for r in results)
    assert server.count("POST", "/auth/token") == 3  # one fetch: its attempt and 2 retries
    assert server.count("GET", "/mailbox_domains") == 0


def interrupt_once_the_lock_is_held(lock: Any, fired: list[str]) -> Callable[..., Any]:
    """A trace function: a KeyboardInterrupt (as a signal handler would raise) at the first
    line of the flow that runs while `lock` is held, wherever that is."""

    def tracer(frame: types.FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_filename != flow_module.__file__:
            return None

        def local(frame: types.FrameType, event: str, arg: object) -> Any:
            if event == "line" and not fired and lock.free == 0:
                fired.append(frame.f_code.co_name)
                raise KeyboardInterrupt("simulated Ctrl-C")
            return local

        return local

    return tracer


def test_an_interrupt_right_after_the_token_lock_is_taken_does_not_leak_it(server: LoopbackServer) -> None:
    with sync_client(server, deadline=3.0) as monite:
        provider = provider_of(monite)
        fired: list[str] = []
        sys.settrace(interrupt_once_the_lock_is_held(provider.lock, fired))
        try:
            with pytest.raises(KeyboardInterrupt):
                monite.mailbox_domains.list()
        finally:
            sys.settrace(None)
        assert fired == ["_token"]  # the first line run with the lock held
        assert provider.lock.free == 1  # type: ignore[union-attr]
        started = time.monotonic()
        assert monite.mailbox_domains.list() == []
        assert time.monotonic() - started < 2.0


@pytest.fixture
def cpu_hog() -> Iterator[None]:
    """Another process spinning on a core while the test runs (bounded: killed after it)."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait(10)


def test_threads_before_during_and_after_a_failed_fetch_share_it_in_50_runs(
    server: LoopbackServer, instant_retries: None, cpu_hog: None
) -> None:
    # Issue 28: threads that reached the token wait after a fetch had failed used to fetch
    # again. 40 threads through 4 slots: 4 reach the token wait before the (slow) token
    # request, the others while it is on the wire or after it failed, as slots come free.
    for run in range(50):
        before = server.count("POST", "/auth/token")
        slow = error(500, "auth is down")
        # Each attempt 0.1 s: the fetch's 3 attempts outlast 40 threads passing the barrier
        # and beginning their calls even beside the CPU hog on a loaded machine (a thread
        # that begins its call after the failure is a new wave, and rightly fetches again).
        slow.delay = 0.1
        server.script("POST", "/auth/token", slow, slow, slow)
        with sync_client(server, limits=FOUR) as monite:
            results = in_threads(*[together(threading.Barrier(40), monite)] * 40)
        assert all(isinstance(r, ServerError) for r in results), (run, {type(r).__name__ for r in results})
        assert server.count("POST", "/auth/token") == before + 3, run  # one fetch: 1 attempt + 2 retries


def together(barrier: threading.Barrier, monite: MoniteSyncClient) -> Callable[[], object]:
    """A call made once every thread of `barrier` is there."""

    def call() -> object:
        barrier.wait(30)
        return monite.mailbox_domains.list()

    return call


def test_calls_beginning_and_ending_on_many_threads_keep_the_count() -> None:
    # The blocking client's threads begin and end calls at once (make bench's 10 threads met
    # a KeyError from deep inside: two threads ending a count's last calls both deleted it).
    from monite_async._flow.drive import ThreadPrimitive

    cache = SyncClientCredentialsProvider(client_secret="s3cret", lock=ThreadPrimitive(1))
    failures: list[BaseException] = []

    def calls() -> None:
        try:
            for _ in range(3000):
                since = cache.begin()
                cache.plan(since, since)  # reads the counts while others change them
                cache.end(since)
        except BaseException as exc:
            failures.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # a thread switch at nearly every bytecode: races show at once
    try:
        threads = [threading.Thread(target=calls) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert not cache._in_flight
