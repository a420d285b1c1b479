"""A bearer token and when to stop using it: the value every auth layer passes around."""

from __future__ import annotations

__all__ = ["Token"]


class Token:
    """A bearer token and when to stop using it. Its repr never shows the value."""

    __slots__ = ("expires_at", "refresh_at", "value")

    value: str
    expires_at: float
    refresh_at: float

    def __init__(self, value: str, *, expires_at: float, refresh_at: float) -> None:
        self.value = value
        self.expires_at = expires_at
        self.refresh_at = refresh_at

    def __repr__(self) -> str:
        return "Token(<redacted>)"
