"""Pure logic of the domain model: ids, dates, the active-key rule."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from b2c_policy_keys.model import (
    Key,
    KeySet,
    active_key,
    iso_utc,
    keyset_name_problems,
    normalise_keyset_id,
    parse_moment,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("keyset1", "B2C_1A_keyset1"), ("B2C_1A_keyset1", "B2C_1A_keyset1"), (" x ", "B2C_1A_x")],
)
def test_normalise_keyset_id_adds_the_prefix_once(name: str, expected: str) -> None:
    assert normalise_keyset_id(name) == expected


@pytest.mark.parametrize("name", ["TokenSigningKeyContainer", "B2C_1A_Facebook-Secret", "a_1"])
def test_valid_keyset_names_have_no_problems(name: str) -> None:
    assert keyset_name_problems(name) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("", "empty"), ("has space", "letters"), ("B2C_1A_", "after the"), ("x" * 200, "at most"), (3, "string")],
)
def test_invalid_keyset_names_say_which_rule(name: object, fragment: str) -> None:
    problems = keyset_name_problems(name)
    assert problems and any(fragment in p for p in problems)


def test_parse_moment_accepts_every_documented_spelling() -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    seconds = int(moment.timestamp())
    assert parse_moment(moment) == seconds
    assert parse_moment("2030-01-02T03:04:05Z") == seconds
    assert parse_moment("2030-01-02T04:04:05+01:00") == seconds
    assert parse_moment(moment.astimezone(timezone(timedelta(hours=-5)))) == seconds
    assert parse_moment(seconds) == seconds
    assert parse_moment(float(seconds)) == seconds
    assert parse_moment(str(seconds)) == seconds
    assert iso_utc(seconds) == "2030-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (datetime(2030, 1, 1), "timezone-aware"),
        ("2030-01-01T00:00:00", "offset"),
        ("tomorrow", "ISO-8601"),
        (1_900_000_000_000, "milliseconds"),
        (1.5, "whole"),
        (True, "boolean"),
        ([1], "list"),
    ],
)
def test_parse_moment_rejects_with_a_reason(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_moment(value)


def _key(kid: str, nbf: int | None = None, exp: int | None = None, status: str = "enabled") -> Key:
    return Key(kid=kid, kty="oct", use="sig", nbf=nbf, exp=exp, status=status)


def test_active_key_is_the_valid_key_with_the_greatest_not_before() -> None:
    now = 1_000
    keys = [_key("none"), _key("old", nbf=100), _key("new", nbf=900), _key("future", nbf=2_000)]
    assert active_key(keys, now) == keys[2]


def test_keys_without_not_before_rank_lowest_and_disabled_or_expired_keys_never_win() -> None:
    now = 1_000
    keys = [_key("plain"), _key("off", nbf=900, status="disabled"), _key("gone", nbf=950, exp=1_000)]
    assert active_key(keys, now) == keys[0]
    assert active_key(keys[1:], now) is None


def test_key_reading_tolerates_case_and_missing_status() -> None:
    key = Key.from_graph({"kid": "k1", "kty": "OCT", "use": "sig", "nbf": 10.0, "k": None, "extra": 1})
    assert (key.kty, key.nbf, key.status) == ("oct", 10, "enabled")
    keyset = KeySet.from_graph({"id": "B2C_1A_x", "keys": [{"kid": "k1", "kty": "RSA", "use": "enc"}]})
    assert keyset.key("k1") is not None and keyset.key("k2") is None
