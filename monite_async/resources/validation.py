"""Arguments checked before anything is sent, so a typo costs no request (and no retry).

>>> validate_hostname("mail.example.com")
'mail.example.com'
"""

from __future__ import annotations

import contextlib
import re
import uuid

from .._errors import InvalidRequestError

__all__ = ["validate_hostname", "validate_uuid"]

# The seed's rule for a mailbox domain: letters, digits, dots and hyphens; every label starts
# and ends with a letter or digit; at most 63 characters per label and 253 in all.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def validate_hostname(value: object, *, name: str = "domain") -> str:
    """Return `value` unchanged if it is a mail domain Monite can take, else raise InvalidRequestError.

    A mail domain is a host name of at least two labels, such as `mail.mycompany.com`; a
    single label (`localhost`) or an IP address is not one. A non-ASCII name is refused
    with its IDNA form, which is what Monite takes:

        validate_hostname("bücher.de")  # InvalidRequestError: ... pass its IDNA form 'xn--bcher-kva.de'
    """
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a str, not {type(value).__name__}")
    shown = value if len(value) <= 80 else value[:77] + "..."
    if not value:
        raise InvalidRequestError(f"{name} must not be empty")
    if not value.isascii():
        hint = "it has no IDNA form"  # e.g. a label too long once encoded
        with contextlib.suppress(UnicodeError):
            hint = f"pass its IDNA form {value.encode('idna').decode('ascii')!r}"
        raise InvalidRequestError(
            f"{name} {shown!r} is not ASCII: Monite takes only letters, digits and hyphens; {hint}"
        )
    if len(value) > 253:
        raise InvalidRequestError(f"{name} {shown!r} is {len(value)} characters long; at most 253 allowed")
    labels = value.split(".")
    for label in labels:
        if not label:
            raise InvalidRequestError(
                f"{name} {shown!r} has an empty label (two dots, or a leading/trailing dot)"
            )
        if len(label) > 63:
            raise InvalidRequestError(f"{name} {shown!r} has a label longer than 63 characters")
        if not _LABEL.fullmatch(label):
            raise InvalidRequestError(
                f"{name} {shown!r}: label {label[:63]!r} must contain only letters, digits and hyphens, "
                "and start and end with a letter or digit"
            )
    # No top-level domain is all digits: a last label of digits is an IP address.
    if len(labels) < 2 or labels[-1].isdigit():
        what = "a single label" if len(labels) < 2 else "an IP address"
        raise InvalidRequestError(
            f"{name} {shown!r} is {what}; Monite wants a mail domain such as 'mail.mycompany.com'"
        )
    return value


def validate_uuid(value: object, *, name: str = "domain_id") -> uuid.UUID:
    """Return `value` as a UUID (from a UUID or its text form), else raise InvalidRequestError."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:  # fast path: try/except, not contextlib.suppress (a context manager per call)
            return uuid.UUID(value)
        except ValueError:
            pass
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    raise InvalidRequestError(
        f"{name} must be a UUID such as '3fa85f64-5717-4562-b3fc-2c963f66afa6'; got {shown}"
    )
