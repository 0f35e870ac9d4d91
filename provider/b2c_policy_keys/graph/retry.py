"""When to try a Graph request again, and how long to wait.

Why tenacity rather than ``urllib3.Retry``: B2C signals throttling and transient failures in the error *body*
(AADB2C95043, AADB2C90229, AADB2C90063, AADB2C95053), often with status 400, which ``urllib3.Retry`` cannot see; and
whether a lost connection may be retried depends on whether the request provably never left (for a POST), a rule
urllib3 expresses only per method. tenacity keeps the policy a value (stop, wait, retry predicates) with a bounded
total time, instead of a hand-rolled loop; the decisions themselves stay in small pure functions tested alone.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

T = TypeVar("T")

#: Back-off when the service gives no Retry-After: 0.5 s doubling, capped, with full jitter.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
#: Never retry sooner than this, even when told ``Retry-After: 0``: a zero wait would hammer a throttled service.
MIN_WAIT = 0.1
#: Connection failures are retried a few times only: a dead endpoint should fail fast, not after minutes.
MAX_CONNECTION_ATTEMPTS = 4


class RetryableAnswer(Exception):
    """The service answered with a throttling/transient error; carries the answer to raise if the budget runs out."""

    def __init__(self, error: Exception, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class RetryableConnection(Exception):
    """The request provably did not take effect (or is idempotent) and the connection failed."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential back-off for attempt 1, 2, ... (AWS architecture blog's 'full jitter')."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(0, ceiling)  # jitter, not cryptography


@dataclass(frozen=True)
class RetryPolicy:
    """Retry throttling within ``budget`` seconds in total; connection failures at most a few times."""

    budget: float
    #: How to wait; tests pass a recorder that still sleeps, to see the delays chosen.
    sleep: Callable[[float], None] = time.sleep

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableAnswer) and error.retry_after is not None:
            return max(MIN_WAIT, error.retry_after)
        return max(MIN_WAIT, backoff(state.attempt_number))

    def _stopper(self, started: float) -> Callable[[tenacity.RetryCallState], bool]:
        def stop(state: tenacity.RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RetryableConnection) and state.attempt_number >= MAX_CONNECTION_ATTEMPTS:
                return True
            # Stop before a sleep that would end past the budget (tenacity's stop_before_delay, from our start).
            return time.monotonic() - started + (state.upcoming_sleep or 0.0) >= self.budget

        return stop

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried per the policy. The first attempt bypasses tenacity: most calls need no retry, and
        building a ``Retrying`` costs more than the rest of the client's per-call work."""
        started = time.monotonic()
        try:
            return fn()
        except (RetryableAnswer, RetryableConnection) as error:
            first: list[BaseException] = [error]

        def attempt() -> T:
            if first:
                raise first.pop()  # replay the first failure as tenacity's attempt 1
            return fn()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((RetryableAnswer, RetryableConnection)),
            wait=self._wait,
            stop=self._stopper(started),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(attempt)
