"""What one call's request carries between the layers: its deadline, retries, attempts.

The pipeline creates the state with the call's options; the auth flow, the retry layer
and the send gate read and update it. It lives on `request.extensions`, so it survives
the auth flow replaying the same request after a refused token.

    state = request_state(request)
    state.attempts += 1
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import httpx2

from ._token import Token

__all__ = ["ATTEMPTS_EXTENSION", "UNCERTAIN_EXTENSION", "RequestState", "finish", "request_state"]

_STATE_EXTENSION = "monite_async.state"
# Copied onto the final response, where `Outcome` and the error mapping read them.
ATTEMPTS_EXTENSION = "monite_async.attempts"
UNCERTAIN_EXTENSION = "monite_async.retried_after_uncertain_failure"


@dataclasses.dataclass(slots=True)
class RequestState:
    """Per-request facts (see the module docstring).

    Attributes:
        operation: the operationId (`get_mailbox_domains`), for logs and traces.
        url_template: the path as the spec writes it (`/mailbox_domains/{domain_id}`).
        traced: whether spans or metrics are recorded for this call (decided once, as it starts).
        deadline_at: when the whole call must be over (a `time.monotonic()` value; inf: none).
        max_retries: this call's retries after the first attempt; None: the client's.
        attempts: the retry layer's count in its current pass (a replay after a refused
            token starts a pass of its own, with the call's retries again).
        sends: how many times it has been sent in all (retries and replays after a refusal):
            what every error and RawResponse reports as `attempts`.
        waited_out_hold: the retry layer has just waited out this request's own 429: the
            client-wide hold it set is served for this request.
        uncertain: an earlier send failed in a way that leaves unknown whether Monite acted on it.
        sign: the request needs the bearer token (the auth flow says so; the send gate signs).
        generation: the token provider's fetch generation when the call began.
        token: the token the last send was signed with, so a refusal replaces that very one.
        replacement: the fresh token a replay after a refusal is signed with.
        timeout: the call's own httpx2 timeout, before each attempt's is shrunk to the time left.
    """

    operation: str = ""
    url_template: str = ""
    traced: bool = False
    deadline_at: float = math.inf
    max_retries: int | None = None
    attempts: int = 0
    sends: int = 0
    uncertain: bool = False
    waited_out_hold: bool = False
    sign: bool = False
    generation: int = 0
    token: Token | None = dataclasses.field(default=None, repr=False)
    replacement: Token | None = dataclasses.field(default=None, repr=False)
    timeout: dict[str, Any] | None = None


def request_state(request: httpx2.Request) -> RequestState:
    """The state of `request`, created (with no deadline) on first use."""
    state = request.extensions.get(_STATE_EXTENSION)
    if not isinstance(state, RequestState):
        state = RequestState()
        request.extensions[_STATE_EXTENSION] = state
    return state


def finish(request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
    """Copy what the layers above read onto the final response."""
    state = request_state(request)
    response.extensions[ATTEMPTS_EXTENSION] = max(1, state.sends)
    response.extensions[UNCERTAIN_EXTENSION] = state.uncertain
    return response
