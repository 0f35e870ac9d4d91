"""The expiry rule behind ``b2c-keys expiring``: which key sets need attention and why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2c_policy_keys.expiry import (
    DAY,
    Reason,
    assess,
    earliest_upcoming_expiry,
    find_attention,
    parse_window,
)
from b2c_policy_keys.model import Key, KeySet

NOW = 1_800_000_000
WINDOW = 30 * DAY


def key(kid: str, *, nbf: int | None = None, exp: int | None = None, status: str = "enabled") -> Key:
    return Key(kid=kid, kty="RSA", use="sig", nbf=nbf, exp=exp, status=status)


def ks(*keys: Key, name: str = "B2C_1A_Signing") -> KeySet:
    return KeySet(id=name, keys=keys)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * DAY), ("30", 30 * DAY), ("12h", 12 * 3600), ("2w", 14 * DAY), ("90m", 5400), ("45s", 45)],
)
def test_parse_window_reads_units(text: str, seconds: int) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "-3d", "3y", "1.5d", "30 days"])
def test_parse_window_rejects_other_text_with_the_accepted_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 30d"):
        parse_window(text)


def test_healthy_key_set_has_no_finding() -> None:
    assert assess(ks(key("a", nbf=NOW - DAY, exp=NOW + 365 * DAY)), now=NOW, window=WINDOW) is None


def test_key_without_expiry_never_expires() -> None:
    assert assess(ks(key("a")), now=NOW, window=WINDOW) is None


def test_active_key_expiring_inside_the_window_is_reported_with_its_date() -> None:
    finding = assess(ks(key("a", nbf=NOW - DAY, exp=NOW + 10 * DAY)), now=NOW, window=WINDOW)
    assert finding is not None
    assert finding.reason is Reason.EXPIRING
    assert finding.kid == "a"
    assert finding.expires_at == NOW + 10 * DAY
    assert "in 10 days" in finding.message
    assert "B2C_1A_Signing" in finding.fix


def test_expiry_exactly_at_the_window_edge_is_reported() -> None:
    assert assess(ks(key("a", exp=NOW + WINDOW)), now=NOW, window=WINDOW) is not None
    assert assess(ks(key("a", exp=NOW + WINDOW + 1)), now=NOW, window=WINDOW) is None


def test_an_uploaded_successor_that_takes_over_in_time_silences_the_alert() -> None:
    old = key("old", nbf=NOW - 300 * DAY, exp=NOW + 5 * DAY)
    successor = key("new", nbf=NOW + 4 * DAY, exp=NOW + 400 * DAY)
    assert assess(ks(old, successor), now=NOW, window=WINDOW) is None


def test_a_successor_starting_after_the_expiry_leaves_a_gap_and_is_reported() -> None:
    old = key("old", nbf=NOW - 300 * DAY, exp=NOW + 5 * DAY)
    late = key("new", nbf=NOW + 6 * DAY, exp=NOW + 400 * DAY)
    finding = assess(ks(old, late), now=NOW, window=WINDOW)
    assert finding is not None and finding.reason is Reason.EXPIRING


def test_a_disabled_successor_does_not_count() -> None:
    old = key("old", exp=NOW + 5 * DAY)
    spare = key("new", nbf=NOW - DAY, exp=NOW + 400 * DAY, status="disabled")
    finding = assess(ks(old, spare), now=NOW, window=WINDOW)
    assert finding is not None and finding.reason is Reason.EXPIRING


def test_empty_key_set_has_no_valid_key() -> None:
    finding = assess(ks(), now=NOW, window=WINDOW)
    assert finding is not None and finding.reason is Reason.NO_VALID_KEY
    assert finding.message == "holds no keys"


def test_all_keys_expired_names_the_last_expiry() -> None:
    finding = assess(ks(key("a", exp=NOW - 2 * DAY), key("b", exp=NOW - DAY)), now=NOW, window=WINDOW)
    assert finding is not None and finding.reason is Reason.NO_VALID_KEY
    assert finding.kid == "b" and "expired" in finding.message


def test_keys_not_yet_valid_leave_no_valid_key_now() -> None:
    finding = assess(ks(key("a", nbf=NOW + DAY)), now=NOW, window=WINDOW)
    assert finding is not None and finding.reason is Reason.NO_VALID_KEY
    assert "valid yet" in finding.message


def test_only_disabled_valid_keys_is_its_own_reason_and_suggests_enabling() -> None:
    finding = assess(ks(key("a", status="disabled"), key("b", exp=NOW - DAY)), now=NOW, window=WINDOW)
    assert finding is not None and finding.reason is Reason.ONLY_DISABLED
    assert finding.kid == "a" and "enable a" in finding.fix


def test_find_attention_skips_backups_and_orders_broken_sets_first() -> None:
    sets = [
        ks(key("a", exp=NOW + 20 * DAY), name="B2C_1A_Later"),
        ks(key("b", exp=NOW + 2 * DAY), name="B2C_1A_Sooner"),
        ks(name="B2C_1A_Empty"),
        ks(name="B2C_1A_Gone.bak"),
        ks(key("c"), name="B2C_1A_Fine"),
    ]
    findings = find_attention(sets, now=NOW, window=WINDOW)
    assert [f.keyset_id for f in findings] == ["B2C_1A_Empty", "B2C_1A_Sooner", "B2C_1A_Later"]


def test_earliest_upcoming_expiry_ignores_expired_and_disabled_keys() -> None:
    keyset = ks(
        key("past", exp=NOW - 1),
        key("off", exp=NOW + DAY, status="disabled"),
        key("next", exp=NOW + 2 * DAY),
        key("later", exp=NOW + 3 * DAY),
    )
    upcoming = earliest_upcoming_expiry(keyset, NOW)
    assert upcoming is not None and upcoming.kid == "next"


def test_finding_output_carries_iso_dates() -> None:
    finding = assess(ks(key("a", exp=NOW + DAY)), now=NOW, window=WINDOW)
    assert finding is not None
    out = finding.to_output()
    assert out["reason"] == "expiring" and out["expires_at"] == NOW + DAY
    assert str(out["expires_at_iso"]).endswith("Z")


_keys = st.lists(
    st.builds(
        key,
        st.text("abcdef", min_size=1, max_size=4),
        nbf=st.none() | st.integers(NOW - 400 * DAY, NOW + 400 * DAY),
        exp=st.none() | st.integers(NOW - 400 * DAY, NOW + 400 * DAY),
        status=st.sampled_from(["enabled", "disabled"]),
    ),
    max_size=5,
)


@given(_keys, st.integers(0, 90 * DAY))
def test_a_set_is_reported_broken_exactly_when_it_has_no_active_key(keys: list[Key], window: int) -> None:
    keyset = ks(*keys)
    finding = assess(keyset, now=NOW, window=window)
    broken = finding is not None and finding.reason is not Reason.EXPIRING
    assert broken == (keyset.active_key(NOW) is None)


@given(_keys, st.integers(0, 90 * DAY))
def test_a_healthy_set_has_an_enabled_key_valid_at_the_end_of_the_window(keys: list[Key], window: int) -> None:
    keyset = ks(*keys)
    if assess(keyset, now=NOW, window=window) is None:
        end = NOW + window
        assert any(k.enabled and (k.exp is None or k.exp > end) and (k.nbf is None or k.nbf <= end) for k in keys)
