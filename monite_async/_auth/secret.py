"""A str that never shows itself in a repr: for the client secret and tokens.

Error trackers (Sentry and the like) record the local variables of every frame of a
traceback, by their repr: a payload or tuple holding the client secret would ship it.
`SecretStr` is the same text everywhere it is used (JSON, headers), but its repr is not.

    >>> SecretStr("s3cr3t")
    '[redacted]'
"""

from __future__ import annotations

__all__ = ["SecretStr"]


class SecretStr(str):
    """A str whose repr is `'[redacted]'`; its value is unchanged for every other use."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[redacted]'"
