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
import sys
import warnings
from collections.abc import Mapping

__all__ = ["install_from_environment"]

ENVIRONMENT_VARIABLE = "MONITE_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LOGGER = "monite_async"


class _EnvironmentHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to stderr only while the app has no logging config of its own."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(_LOGGER)
        theirs = [h for h in logger.handlers if h is not self] or logging.getLogger().handlers
        if theirs:
            return  # the app's handlers get the record by propagation: no second copy
        super().emit(record)


def install_from_environment(environ: Mapping[str, str] = os.environ) -> logging.Handler | None:
    """Install the stderr handler MONITE_LOG asks for; return it (None when unset)."""
    value = environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if not value:
        return None
    level = _LEVELS.get(value)
    if level is None:
        warnings.warn(
            f"{ENVIRONMENT_VARIABLE}={value[:20]!r} is not one of debug, info, warning: ignored",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    logger = logging.getLogger(_LOGGER)
    for handler in logger.handlers:
        if isinstance(handler, _EnvironmentHandler):
            return handler  # imported twice (a reload): one handler is enough
    if logger.level == logging.NOTSET:
        logger.setLevel(level)
    handler = _EnvironmentHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return handler
