"""Scripted failures: what the next requests to an operation should suffer instead of a normal answer."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

OPERATION_IDS = (
    "post_auth_token",
    "post_auth_revoke",
    "get_mailbox_domains",
    "post_mailbox_domains",
    "delete_mailbox_domains_id",
    "post_mailbox_domains_id_verify",
)
# Only these answers carry enum fields (DNS record type and purpose) that a fault can spoil.
_ENUM_OPERATIONS = ("get_mailbox_domains", "post_mailbox_domains")


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour; see `Faults.fail_next` for what each field does."""

    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop_connection: bool = False
    non_json: bool = False
    unknown_enum: bool = False
    missing_field: str | None = None


class Faults:
    """Per-operation queues of faults, consumed one per request, oldest first.

    ::

        fake.faults.fail_next("post_mailbox_domains", status=503)
        fake.faults.fail_next("get_mailbox_domains", times=2, status=429, retry_after=1)
        fake.faults.fail_next("post_mailbox_domains_id_verify", drop_connection=True)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {operation_id: deque() for operation_id in OPERATION_IDS}

    def fail_next(
        self,
        operation_id: str,
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
        non_json: bool = False,
        unknown_enum: bool = False,
        missing_field: str | None = None,
    ) -> None:
        """Make the next `times` requests to `operation_id` misbehave.

        - `status`: answer it with an `ErrorSchemaResponse` body (500, 503, 520, 429, ...);
          `retry_after` (seconds) adds a `Retry-After` header and alone means 429.
        - `delay`: wait this many seconds first (then fail or answer normally).
        - `drop_connection`: close the connection without any answer.
        - `non_json`: send an HTML page instead of JSON, with `status` or the normal one.
        - `unknown_enum`: answer normally but with DNS record types no client knows yet
          (only for `get_mailbox_domains` and `post_mailbox_domains`).
        - `missing_field`: answer normally without this field (dotted for nesting, such as
          `dns_records.sending_dns_records`; applied to each item of a list answer).

        >>> faults = Faults()
        >>> faults.fail_next("post_mailbox_domains", status=500)
        >>> faults.pending("post_mailbox_domains")
        1
        """
        if operation_id not in self._queues:
            raise ValueError(
                f"unknown operation {operation_id!r}; expected one of {', '.join(OPERATION_IDS)}"
            )
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(
            status=429 if retry_after is not None and status is None else status,
            retry_after=retry_after,
            delay=delay,
            drop_connection=drop_connection,
            non_json=non_json,
            unknown_enum=unknown_enum,
            missing_field=missing_field,
        )
        _check(fault, operation_id)
        with self._lock:
            self._queues[operation_id].extend([fault] * times)

    def pending(self, operation_id: str | None = None) -> int:
        """How many scripted faults are still waiting, for one operation or all."""
        with self._lock:
            if operation_id is not None:
                return len(self._queues[operation_id])
            return sum(len(queue) for queue in self._queues.values())

    def clear(self) -> None:
        """Forget every fault not yet used."""
        with self._lock:
            for queue in self._queues.values():
                queue.clear()

    def take(self, operation_id: str) -> Fault | None:
        """The fault for this request, if one is scripted (used by the app)."""
        with self._lock:
            queue = self._queues[operation_id]
            return queue.popleft() if queue else None


def _check(fault: Fault, operation_id: str) -> None:
    """Refuse a fault that cannot happen, saying why (ValueError)."""
    if fault.status is not None and not 400 <= fault.status <= 599:
        raise ValueError("status must be an error status between 400 and 599")
    if fault.retry_after is not None and fault.retry_after < 0:
        raise ValueError("retry_after must not be negative")
    if fault.delay < 0:
        raise ValueError("delay must not be negative")
    if fault.unknown_enum and operation_id not in _ENUM_OPERATIONS:
        raise ValueError(f"{operation_id} answers no enum field; use one of {', '.join(_ENUM_OPERATIONS)}")
    spoils_body = fault.non_json or fault.unknown_enum or fault.missing_field is not None
    if fault.drop_connection and (fault.status is not None or spoils_body):
        raise ValueError("drop_connection sends no answer; it cannot be combined with an answer's faults")
    if fault.status is not None and (fault.unknown_enum or fault.missing_field is not None):
        raise ValueError("unknown_enum and missing_field spoil a normal answer; leave status unset")
    if not (fault.status is not None or fault.delay or fault.drop_connection or spoils_body):
        raise ValueError("say what should go wrong: status, delay, drop_connection, non_json, ...")
