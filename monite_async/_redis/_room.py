"""What the two front classes share: keys, the Lua scripts, the token's encryption, the breaker.

Every operation is one `Plan`: a script name, its keys and arguments, and how to read the
answer. The sync, asyncio and trio fronts only differ in how they run a plan (one EVALSHA).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit

from .._auth.secret import SecretStr

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["TIMEOUT", "Fence", "Plan", "Room", "SharedToken"]

_log = logging.getLogger("monite_async")
T = TypeVar("T", covariant=True)

TIMEOUT = 1.0  # socket connect and read: a slow Redis must cost a call little (a busy host is not "down")
_PAUSE = 1.5  # after a failure, no Redis call for this long; then the next call tries again
# Monite counts per second; the log keeps each grant a little longer than that, as the
# client's own window waits `_RESET_MARGIN` past a reset (monite_async/_http/rate.py): a
# grant is sent some milliseconds after Redis's clock gave it (the event loop, the pool), and
# Monite's window starts at the arrival of a request, not at the grant.
_WINDOW_MS = 1000 + 50
_DEFAULT_LIMIT = 30  # Monite's documented default, until an answer says otherwise
_MAX_LIMIT = 1_000  # Monite grants 30 per second by default
_MAX_HOLD = 600.0  # a Retry-After beyond ten minutes is taken as ten minutes
_MAX_LIFETIME = 7 * 86_400.0
_MAX_LOCK = 300.0
_RATE_TTL_MS = 3_600_000  # a learned limit is forgotten after an hour without answers
_NONCE = 12
_SALT = b"monite_async redis v1"

# Redis's clock in milliseconds, read inside each script: no host's clock takes part.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# The budget is a sliding log: the newest grants' times, newest first, at most `limit` of
# them. A unit is free when fewer than `limit` grants fall in the last window: then no
# window of that length ever sees more than `limit`, wherever Monite's own window starts.
_TAKE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'limit', 'hold')
local hold = tonumber(s[2]) or 0
if hold > now then return hold - now end
local limit = tonumber(s[1]) or tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local edge = tonumber(redis.call('LINDEX', KEYS[2], limit - 1))
if edge and edge + w > now then return math.max(1, edge + w - now) end
redis.call('LPUSH', KEYS[2], now)
redis.call('LTRIM', KEYS[2], 0, limit - 1)
redis.call('PEXPIRE', KEYS[2], w)
return 0
"""
)
# Monite's count wins when it is higher than ours (units spent outside the fleet, or a
# window learned late): the difference is logged as grants made now, keeping the log sorted.
_LEARN = (
    _NOW
    + """
local limit, remaining, w = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'limit', limit)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
local ours = 0
for _, at in ipairs(redis.call('LRANGE', KEYS[2], 0, limit - 1)) do
  if tonumber(at) + w > now then ours = ours + 1 end
end
local head = tonumber(redis.call('LINDEX', KEYS[2], 0)) or now
for _ = ours + 1, limit - remaining do redis.call('LPUSH', KEYS[2], math.max(now, head)) end
redis.call('LTRIM', KEYS[2], 0, limit - 1)
redis.call('PEXPIRE', KEYS[2], w)
return 0
"""
)
_HOLD = (
    _NOW
    + """
local ends = now + tonumber(ARGV[1])
if ends > (tonumber(redis.call('HGET', KEYS[1], 'hold')) or 0) then
  redis.call('HSET', KEYS[1], 'hold', ends)
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
end
return 0
"""
)
_READ = """
local v = redis.call('HMGET', KEYS[1], 'c', 'l')
if not v[1] then return false end
return {v[1], v[2], redis.call('PTTL', KEYS[1])}
"""
_LOCK = "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0"
# Written only by the lock's current holder: one that outlived its lock writes nothing.
_STORE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'c', ARGV[2], 'f', ARGV[3], 'l', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('DEL', KEYS[2])
return 1
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_DISCARD = (
    "if redis.call('HGET', KEYS[1], 'f') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)

SCRIPTS = {
    "take": _TAKE,
    "learn": _LEARN,
    "hold": _HOLD,
    "token": _READ,
    "lock": _LOCK,
    "store": _STORE,
    "release": _RELEASE,
    "discard": _DISCARD,
}


@dataclass(frozen=True)
class SharedToken:
    """The fleet's token: `lifetime` is the `expires_in` it came with, `left` the seconds
    until Redis's TTL ends it."""

    value: str = field(repr=False)
    lifetime: float
    left: float


@dataclass(frozen=True)
class Fence:
    """Proof of holding the fetch lock: the random value `lock()` set."""

    value: bytes = field(repr=False)


@dataclass(frozen=True)
class Plan(Generic[T]):
    """One script call and how to read its answer (raising on an answer Redis should not give)."""

    script: str
    keys: Sequence[str]
    args: Sequence[bytes | str | int | float]
    read: Callable[[object], T]


def _clamp(value: float, low: float, high: float) -> float:
    return low if math.isnan(value) else max(low, min(value, high))


def _none(_raw: object) -> None:
    return None


def where(url: str) -> str:
    """The Redis URL's scheme, host, port and database: never its user name or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Room:
    """Keys, scripts' arguments and answers, encryption and the breaker for one API client."""

    def __init__(
        self,
        url: str,
        *,
        base_url: str,
        client_id: uuid.UUID,
        client_secret: str,
        grant: str,
        entity_user_id: uuid.UUID | None,
    ) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # the redis extra

        self.url = SecretStr(url)  # may carry a password
        self.where = where(url)
        scope = "\x1f".join((base_url.rstrip("/"), str(client_id), grant, str(entity_user_id or "")))
        self.scope = hashlib.sha256(scope.encode()).hexdigest()
        # {scope} is a hash tag: all of a client's keys live in one Redis Cluster slot.
        prefix = f"monite_async:{{{self.scope}}}:"
        self._rate, self._log, self._token, self._lock = (
            prefix + k for k in ("rate", "log", "token", "lock")
        )
        self._aead: AESGCM = AESGCM(self._derive(client_secret, b"token-key"))
        self._fingerprint_key = self._derive(client_secret, b"token-fingerprint")
        self._down_until = 0.0
        self._warned = False
        self._unreadable_warned = False

    def _derive(self, secret: str, purpose: bytes) -> bytes:
        # HKDF (not a password hash): a Monite client secret is a long random string.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        info = purpose + b"|" + self.scope.encode()
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info).derive(secret.encode())

    # --- the breaker -------------------------------------------------------------------
    def ready(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + _PAUSE
        if not self._warned:
            self._warned = True
            # The exception's type only: its text is Redis's or the socket's, not ours to vet.
            _log.warning(
                "Redis at %s did not answer (%s): each process goes on alone until it does",
                self.where,
                type(exc).__name__,
            )

    def succeeded(self) -> None:
        if self._warned:
            self._warned = False
            _log.info("Redis at %s answers again: the fleet shares its token and budget again", self.where)

    # --- plans -------------------------------------------------------------------------
    def take(self) -> Plan[float]:
        return Plan("take", (self._rate, self._log), (_DEFAULT_LIMIT, _WINDOW_MS), _seconds)

    def learn(self, limit: int, remaining: int, reset_after: float | None) -> Plan[None] | None:
        del reset_after  # Monite's RateLimit-Reset is whole seconds: the log's own edge is finer
        if not isinstance(limit, int) or not isinstance(remaining, int) or limit < 1:
            return None
        limit = int(_clamp(limit, 1, _MAX_LIMIT))
        remaining = int(_clamp(remaining, 0, limit))
        return Plan("learn", (self._rate, self._log), (limit, remaining, _WINDOW_MS, _RATE_TTL_MS), _none)

    def hold(self, seconds: float) -> Plan[None] | None:
        ms = math.ceil(_clamp(float(seconds), 0.0, _MAX_HOLD) * 1000)
        return Plan("hold", (self._rate,), (ms,), _none) if ms > 0 else None

    def token(self) -> Plan[SharedToken | None]:
        return Plan("token", (self._token,), (), self._open)

    def lock(self, ttl: float) -> Plan[Fence | str]:
        fence = Fence(secrets.token_bytes(16))
        ms = max(1, math.ceil(_clamp(float(ttl), 0.001, _MAX_LOCK) * 1000))
        return Plan("lock", (self._lock,), (fence.value, ms), lambda won: fence if won == 1 else "held")

    def store(self, token_value: str, lifetime: float, fence: Fence) -> Plan[None]:
        lifetime = _clamp(float(lifetime), 0.0, _MAX_LIFETIME)
        if lifetime < 0.001:  # nothing worth sharing: let the next fetch go ahead
            return self.release(fence)
        nonce = secrets.token_bytes(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, token_value.encode(), self._bound(repr(lifetime)))
        args = (
            fence.value,
            sealed,
            self._fingerprint(token_value),
            repr(lifetime),
            math.ceil(lifetime * 1000),
        )
        return Plan("store", (self._token, self._lock), args, _none)

    def release(self, fence: Fence) -> Plan[None]:
        return Plan("release", (self._lock,), (fence.value,), _none)

    def discard(self, token_value: str) -> Plan[None]:
        return Plan("discard", (self._token,), (self._fingerprint(token_value),), _none)

    # --- the token at rest -------------------------------------------------------------
    def _bound(self, lifetime: str) -> bytes:
        # The key's scope and the lifetime beside the ciphertext are authenticated with it.
        return f"monite_async token|{self.scope}|{lifetime}".encode()

    def _fingerprint(self, token_value: str) -> str:
        return hmac.new(self._fingerprint_key, token_value.encode(), hashlib.sha256).hexdigest()

    def _open(self, raw: object) -> SharedToken | None:
        if raw is None:
            return None
        sealed, lifetime, pttl = _triple(raw)
        if pttl <= 0:
            return None
        from cryptography.exceptions import InvalidTag

        try:
            bound = self._bound(lifetime.decode())
            plain = self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], bound)
            return SharedToken(SecretStr(plain.decode()), float(lifetime), pttl / 1000)
        except (InvalidTag, ValueError):
            if not self._unreadable_warned:
                self._unreadable_warned = True
                _log.warning(
                    "The shared token in Redis at %s does not open with this client secret "
                    "(another secret, or altered): this process fetches its own",
                    self.where,
                )
            return None


def _seconds(raw: object) -> float:
    if not isinstance(raw, int) or raw < 0:
        raise TypeError(f"take() answered {type(raw).__name__}")
    return raw / 1000


def _triple(raw: object) -> tuple[bytes, bytes, int]:
    if isinstance(raw, list) and len(raw) == 3:
        sealed, lifetime, pttl = raw
        if isinstance(sealed, bytes) and isinstance(lifetime, bytes) and isinstance(pttl, int):
            return sealed, lifetime, pttl
    raise TypeError("token() answered an unexpected shape")
