"""One token and one rate budget for a fleet of processes on one API client, kept in Redis.

The request flow asks this room at two steps only: *admit* (`take()` a unit of the fleet's
budget before signing; `learn()` each answer's `RateLimit-*` headers; `hold()` a 429's
`Retry-After`) and *sign* (`token()`; else `lock()`, fetch, `store()` or `release()`;
`discard()` after a 401). `SharedState` is the async face (asyncio and trio),
`SyncSharedState` the blocking one; both answer None when Redis is down, slow or wrong, so
the caller falls back to what one process does alone.

What Redis holds, under keys named by a hash of (base URL, client id, grant, entity user),
never the id itself: `monite_async:{<sha256>}:rate` (the learned limit, a 429's hold),
`:log` (the times of the last grants), `:token` (the token sealed with AES-GCM under a key
HKDF derives from the client secret, with an HMAC fingerprint for `discard`), `:lock`
(the fetch lock's random fence). Every time is Redis's own (`TIME` inside the scripts);
expiries are Redis TTLs.

Why our own ~10 lines of Lua rather than `limits` or `pyrate-limiter`: both pass the
caller's clock (`time.time()`) into their Redis scripts, so hosts whose clocks differ
disagree about the window; neither can share a 429's hold or a limit learned from
Monite's headers; `limits`' async storages target asyncio, and `pyrate-limiter` waits by
sleeping inside the library, where the flow needs "wait N seconds" back to bound by its
own deadline and cancel scope, under asyncio and trio alike.

redis-py and cryptography are imported on first use: `import monite_async` needs neither.
"""

from __future__ import annotations

from ._room import Fence, SharedToken
from ._state import SharedState, SyncSharedState

__all__ = ["Fence", "SharedState", "SharedToken", "SyncSharedState"]
