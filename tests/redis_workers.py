"""What the Redis tests run in other processes (multiprocessing "spawn" imports this module)."""

from __future__ import annotations

import uuid
from typing import Any

from monite_async._redis import Fence, SyncSharedState

BASE_URL = "https://api.sandbox.monite.com/v1"
CLIENT_ID = uuid.UUID("0b0c2f6e-1d4a-4c51-9f0e-7a3d2b1c9e88")
SECRET = "a-long-random-client-secret-for-tests-0123456789"


def shared(url: str, **overrides: Any) -> SyncSharedState:
    settings: dict[str, Any] = {"base_url": BASE_URL, "client_id": CLIENT_ID, "client_secret": SECRET}
    return SyncSharedState(url, **(settings | overrides))


def race_for_the_lock(url: str, barrier: Any) -> tuple[str, float | None]:
    """Wait for the others, then try the lock once; also report what take() says (a hold)."""
    state = shared(url)
    try:
        barrier.wait(timeout=60)
        won = state.lock(10.0)
        kind = "fence" if isinstance(won, Fence) else str(won)
        return kind, state.take()
    finally:
        state.close()
