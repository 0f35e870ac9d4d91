"""Pure logic of the domain model: ids, dates, the active-key rule."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from b2c_policy_keys.model import (
    Key,
    KeySet,
    active_key,
    iso_utc,
    keyset_key,
    keyset_name_problems,
    normalise_keyset_id,
    parse_moment,
    same_keyset_id,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("keyset1", "B2C_1A_keyset1"),
        ("B2C_1A_keyset1", "B2C_1A_keyset1"),
        (" x ", "B2C_1A_x"),
        ("b2c_1a_Thing", "B2C_1A_Thing"),  # B08: never B2C_1A_b2c_1a_Thing
        ("B2c_1A_Thing", "B2C_1A_Thing"),
    ],
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


@pytest.mark.parametrize("other", ["Foo", "foo", "FOO", "B2C_1A_foo", "b2c_1a_FOO", " foo "])
def test_a_key_set_id_is_one_identity_whatever_its_case_or_prefix(other: str) -> None:
    assert same_keyset_id("B2C_1A_Foo", other)
    assert keyset_key(other) == keyset_key("Foo")


@pytest.mark.parametrize("other", ["Fo", "Foo2", "B2C_1A_B2C_1A_Foo", "Foo.bak"])
def test_different_key_sets_stay_different(other: str) -> None:
    assert not same_keyset_id("Foo", other)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (1_735_689_600_000, "not a date: 1735689600000 (milliseconds?)"),
        (-5, "not a date: -5"),
        (10**30, f"not a date: {10**30} (milliseconds?)"),
    ],
)
def test_a_key_with_an_out_of_range_date_is_read_and_shown_as_odd(raw: int, shown: str) -> None:
    """B16: one odd date (milliseconds, negative, absurd) never breaks reading the key set or showing it."""
    body = {"id": "B2C_1A_x", "keys": [{"kid": "odd", "kty": "oct", "use": "sig", "nbf": raw, "exp": raw}]}
    key = KeySet.from_graph(body).keys[0]
    assert (key.nbf, key.exp) == (raw, raw)  # the raw number is kept
    out = key.to_output()
    assert out["not_before_iso"] == out["expires_at_iso"] == shown
    assert key.not_before is None and key.expires_at is None
    assert iso_utc(raw) == shown


@pytest.mark.parametrize("raw", ["soon", float("nan"), float("inf"), [1], True])
def test_a_date_that_is_no_number_at_all_is_a_malformed_answer(raw: object) -> None:
    with pytest.raises(ValueError, match="expected a"):
        Key.from_graph({"kid": "k", "kty": "oct", "use": "sig", "nbf": raw})


def test_a_millisecond_not_before_is_far_future_so_that_key_is_never_active() -> None:
    """B16 decision: dates compare as the raw numbers the service stores, so a millisecond nbf lies ahead."""
    now = 1_800_000_000
    keys = [_key("ms", nbf=now * 1000), _key("ok", nbf=now - 10)]
    assert active_key(keys, now) == keys[1]
    assert active_key(keys[:1], now) is None
    assert _key("ms-exp", nbf=now - 10, exp=now * 1000).is_valid_at(now)
