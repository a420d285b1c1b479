"""`MONITE_LOG=debug|info|warning`: the SDK's log lines on stderr with no logging config.

    MONITE_LOG=info python app.py

At import, if MONITE_LOG is set, a stderr handler is put on the `monite_async` logger and
the logger's level is set, unless the app has set one. An app's own logging config always
wins: once the app has given the root logger (or this one) a handler of its own, this
handler writes nothing, and the records reach the app's handlers as usual. Unset, nothing
is installed. What each level shows:

- warning: a server answering with another API version; an early token refresh that failed
  while the current token still serves;
- info: the above, each token fetch (why, for how long; never the token), each retry (after
  what, how long it waits) and a retried create resolved to the domain Monite already had;
- debug: the above, and one line per request (method, path, status, operation, attempts).
"""

from __future__ import annotations

import logging
import os
import warnings

__all__ = ["install_from_environment"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LOGGER = "monite_async"


class _EnvironmentHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to stderr only while the app has no logging config of its own."""

    def emit(self, record: logging.LogRecord) -> None:
        # Else the app's handlers get it by propagation: no second copy.
        if logging.getLogger(_LOGGER).handlers == [self] and not logging.getLogger().handlers:
            super().emit(record)


def install_from_environment() -> None:
    """Install the stderr handler MONITE_LOG asks for (unset: nothing)."""
    value = os.environ.get("MONITE_LOG", "").strip().lower()
    if value and value not in _LEVELS:
        warnings.warn(
            f"MONITE_LOG={value[:20]!r} is not one of debug, info, warning: ignored",
            RuntimeWarning,
            stacklevel=2,
        )
    logger = logging.getLogger(_LOGGER)
    if value not in _LEVELS or any(isinstance(handler, _EnvironmentHandler) for handler in logger.handlers):
        return  # unset or unknown; or imported twice (a reload): one handler is enough
    if logger.level == logging.NOTSET:
        logger.setLevel(_LEVELS[value])
    handler = _EnvironmentHandler()  # on sys.stderr
    handler.setLevel(_LEVELS[value])
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
