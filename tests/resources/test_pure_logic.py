"""check() and diff() are pure: exercised directly, without a host or Graph (diff must never need Graph)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from pulumi.output import Unknown

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.resources import _common as c

FUTURE = 4102444800  # 2100-01-01T00:00:00Z


def _secret_inputs(**overrides: object) -> dict[str, object]:
    news: dict[str, object] = {"keyset_id": "B2C_1A_App", "value": "s3cr3t-value", "use": "sig", "expires_at": FUTURE}
    news.update(overrides)
    return {k: v for k, v in news.items() if v is not None}


def _stored_outputs(inputs: dict[str, object], status: str = "enabled") -> dict[str, object]:
    """What create would have returned for these checked inputs (no Graph: the key fields are made up)."""
    salt = str(inputs["fingerprint_salt"])
    return {
        "keyset_id": "B2C_1A_App",
        "kid": "kid-1",
        "kty": "oct",
        "use": inputs.get("use", "sig"),
        "status": status,
        "enabled": inputs.get("enabled", True),
        "version": inputs.get("version"),
        "fingerprint_salt": salt,
        "requested_not_before": inputs.get("not_before"),
        "requested_expires_at": inputs.get("expires_at"),
        "not_before": 1700000000,
        "expires_at": inputs.get("expires_at"),
        "value_fingerprint": c.fingerprint(salt, str(inputs["value"])),
    }


def _as_engine_returns(props: dict[str, object]) -> dict[str, object]:
    """The engine hands numbers back as floats and drops None."""
    return {
        k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in props.items() if v is not None
    }


def test_keyset_check_names_the_property_and_the_rule() -> None:
    result = KeySetProvider().check({}, {"name": "bad name!"})
    assert [f.property for f in result.failures] == ["name"]
    assert "name may contain letters, digits" in result.failures[0].reason
    assert KeySetProvider().check({}, {"name": ""}).failures[0].reason == "name must not be empty"


def test_keyset_check_accepts_unknown_name_in_preview() -> None:
    assert KeySetProvider().check({}, {"name": Unknown()}).failures == []


def test_keyset_both_spellings_are_the_same_set() -> None:
    olds = {"keyset_id": "B2C_1A_Signing", "name": "Signing", "adopt_existing": False}
    diff = KeySetProvider().diff("B2C_1A_Signing", olds, {"name": "B2C_1A_Signing"})
    assert (diff.changes, diff.replaces) == (False, [])


def test_keyset_rename_replaces_and_flags_update_in_place() -> None:
    olds = {"keyset_id": "B2C_1A_Signing", "name": "Signing"}
    assert KeySetProvider().diff("x", olds, {"name": "Other"}).replaces == ["name"]
    flag = KeySetProvider().diff("x", olds, {"name": "Signing", "purge_backup_on_delete": True})
    assert (flag.changes, flag.replaces) == (True, [])


def test_secret_check_failures_name_each_property() -> None:
    result = SecretKeyProvider().check(
        {}, {"keyset_id": "", "value": "", "use": "sign", "not_before": "yesterday", "expires_at": 1000}
    )
    reasons = {f.property: f.reason for f in result.failures}
    assert reasons["keyset_id"] == "keyset_id must not be empty"
    assert reasons["value"] == "value must be a non-empty string"
    assert reasons["use"] == "use must be one of sig, enc"
    assert reasons["not_before"].startswith("not_before 'yesterday' is not an ISO-8601 date")
    assert reasons["expires_at"].startswith("expires_at must be in the future; a rotation adds a new key")


def test_date_problems_give_python_advice_to_python_authors() -> None:
    """Issue 13: a naive datetime reaches check() as its isoformat(); the fix shown is the Python one."""
    naive = datetime(2030, 1, 31).isoformat()
    reason = {f.property: f.reason for f in SecretKeyProvider().check({}, _secret_inputs(expires_at=naive)).failures}
    assert "needs an offset" in reason["expires_at"]
    assert "datetime(2027, 1, 31, tzinfo=timezone.utc)" in reason["expires_at"]


def test_secret_check_rejects_not_before_after_expiry() -> None:
    result = SecretKeyProvider().check({}, _secret_inputs(not_before=FUTURE, expires_at=FUTURE - 10))
    assert [(f.property, f.reason) for f in result.failures] == [
        ("not_before", "not_before must be earlier than expires_at")
    ]


def test_secret_check_keeps_an_expiry_already_in_state() -> None:
    """An expired key must not break every later `up`: only a new expiry has to lie in the future."""
    olds = {"expires_at": 1000}
    assert SecretKeyProvider().check(olds, _secret_inputs(expires_at=1000)).failures == []


def test_secret_check_accepts_unknowns_and_never_echoes_the_value() -> None:
    news = {"keyset_id": Unknown(), "value": Unknown(), "use": "sig", "expires_at": Unknown()}
    result = SecretKeyProvider().check({}, news)
    assert result.failures == []
    bad = SecretKeyProvider().check({}, _secret_inputs(use="s3cr3t-value"))
    assert all("s3cr3t-value" not in f.reason for f in bad.failures)


def test_secret_check_reuses_the_salt_from_state() -> None:
    first = SecretKeyProvider().check({}, _secret_inputs()).inputs
    again = SecretKeyProvider().check(first, _secret_inputs()).inputs
    assert again["fingerprint_salt"] == first["fingerprint_salt"]
    assert len(str(first["fingerprint_salt"])) == 32


@given(
    offset_hours=st.integers(min_value=-12, max_value=14),
    spelling=st.sampled_from(["datetime", "iso", "epoch", "epoch_float", "epoch_str"]),
    keyset=st.sampled_from(["App", "B2C_1A_App"]),
    version=st.sampled_from([None, 3, 3.0, "3"]),
)
def test_identical_inputs_never_diff(offset_hours: int, spelling: str, keyset: str, version: object) -> None:
    """However the same dates, key set and version are spelled, a preview shows no change."""
    exp_dt = datetime.fromtimestamp(FUTURE, tz=UTC).astimezone(timezone(timedelta(hours=offset_hours)))
    spelled = {
        "datetime": exp_dt.isoformat(),
        "iso": exp_dt.isoformat(),
        "epoch": FUTURE,
        "epoch_float": float(FUTURE),
        "epoch_str": str(FUTURE),
    }[spelling]
    provider = SecretKeyProvider()
    first = provider.check({}, _secret_inputs(expires_at=FUTURE, version=3)).inputs
    outputs = _as_engine_returns(_stored_outputs(first))
    news = provider.check(first, _secret_inputs(keyset_id=keyset, expires_at=spelled, version=version)).inputs
    diff = provider.diff("B2C_1A_App/kid-1", outputs, news)
    if version is None:
        assert diff.replaces == ["version"]
    else:
        assert (diff.changes, diff.replaces) == (False, [])


def test_absent_not_before_never_diffs_against_the_upload_time() -> None:
    provider = SecretKeyProvider()
    first = provider.check({}, _secret_inputs()).inputs
    outputs = _as_engine_returns(_stored_outputs(first))
    assert outputs["not_before"] == 1700000000.0
    diff = provider.diff("id", outputs, provider.check(first, _secret_inputs()).inputs)
    assert (diff.changes, diff.replaces) == (False, [])


def test_each_replacing_input_replaces_and_enabled_updates_in_place() -> None:
    provider = SecretKeyProvider()
    first = provider.check({}, _secret_inputs()).inputs
    outputs = _as_engine_returns(_stored_outputs(first))
    cases = {
        "value": {"value": "another"},
        "version": {"version": "2"},
        "use": {"use": "enc"},
        "not_before": {"not_before": 1700000000},  # past: the new key is valid at once, so a replace
        "expires_at": {"expires_at": FUTURE + 1},
        "keyset_id": {"keyset_id": "Other"},
    }
    for prop, change in cases.items():
        news = provider.check(first, _secret_inputs(**change)).inputs
        diff = provider.diff("id", outputs, news)
        assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, [prop], False), prop
    news = provider.check(first, _secret_inputs(enabled=False)).inputs
    diff = provider.diff("id", outputs, news)
    assert (diff.changes, diff.replaces) == (True, [])
    # A future not-before is a scheduled rotation: an update that keeps the old key until then (issue 11, B01).
    news = provider.check(first, _secret_inputs(value="another", not_before=FUTURE - 100)).inputs
    diff = provider.diff("id", outputs, news)
    assert (diff.changes, diff.replaces) == (True, [])


def test_a_key_disabled_out_of_band_diffs_so_up_re_enables_it() -> None:
    provider = SecretKeyProvider()
    first = provider.check({}, _secret_inputs()).inputs
    outputs = _as_engine_returns(_stored_outputs(first, status="disabled"))
    diff = provider.diff("id", outputs, provider.check(first, _secret_inputs()).inputs)
    assert (diff.changes, diff.replaces) == (True, [])


def test_unknown_value_in_preview_is_a_replacement_and_ignores_provider_key() -> None:
    provider = SecretKeyProvider()
    first = provider.check({}, _secret_inputs()).inputs
    outputs = {**_as_engine_returns(_stored_outputs(first)), "__provider": "old"}
    news = {**provider.check(first, _secret_inputs(value=Unknown())).inputs, "__provider": "new"}
    assert provider.diff("id", outputs, news).replaces == ["value"]


def test_fingerprint_is_salted() -> None:
    assert c.fingerprint("a" * 32, "v") != c.fingerprint("b" * 32, "v")
    assert "v" not in c.fingerprint("a" * 32, "v")
    assert pickle.loads(pickle.dumps(SecretKeyProvider())).__dict__ == {}  # noqa: S301
