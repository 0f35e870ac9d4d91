"""Retry-After parsing and the back-off curve: pure functions."""

from __future__ import annotations

import email.utils
import random

import pytest

from b2c_policy_keys.graph.retry import BACKOFF_CAP, backoff, parse_retry_after

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1", 1.0),
        (" 30 ", 30.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("2.128", 2.128),  # Graph's gateway sends fractions (doc: Microsoft Graph throttling guidance)
        ("-5", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_delta_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_http_date() -> None:
    header = email.utils.formatdate(NOW + 42, usegmt=True)
    assert parse_retry_after(header, now=NOW) == pytest.approx(42.0)


def test_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 100, usegmt=True), now=NOW) == 0.0


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    first = [backoff(1, rng) for _ in range(200)]
    assert max(first) <= 0.5 and min(first) >= 0
    late = [backoff(30, rng) for _ in range(200)]
    assert max(late) <= BACKOFF_CAP
    assert len(set(late)) > 100  # jitter: not one fixed delay
    assert max(late) > 10  # grew far beyond the first delay
