"""The client's defaults, in one place: every layer that needs one reads it from here.

MoniteClient(timeout=DEFAULT_TIMEOUT, max_retries=DEFAULT_MAX_RETRIES)  # what you get
"""

from __future__ import annotations

import httpx2

from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
]

DEFAULT_BASE_URL = "https://api.sandbox.monite.com/v1"
DEFAULT_MAX_RETRIES = 2
# One call's whole budget: token fetch, attempts and the waits between them. Finite, so a
# hung Monite ends every call in MoniteTimeoutError; each attempt shrinks to fit it.
DEFAULT_DEADLINE = 60.0
# Never "no timeout": a hung connection must end in MoniteTimeoutError, not a hung task.
DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=5.0)
# Monite admits 30 requests/s per API client: 16 connections carry that at answers of up to
# half a second. Every one is kept alive: with fewer kept than allowed, each burst past
# them opens connections only to close them after one request (docs/benchmarks.md measures
# both at 100 tasks). More tasks wait for a slot, unsigned (`_flow/call.py`), instead of
# opening more sockets.
DEFAULT_LIMITS = httpx2.Limits(max_connections=16, max_keepalive_connections=16, keepalive_expiry=15.0)
USER_AGENT = f"monite-async/{__version__}"
