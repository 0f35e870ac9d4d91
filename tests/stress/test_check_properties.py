"""Property-based tests of every provider's ``check()``: whatever the engine sends, check never raises; each failure
names the property and the rule it broke; and every valid declaration passes.

``check`` is pure (no Graph call, no credentials), so the providers are called directly: thousands of inputs in
seconds, where the host would cost a gRPC round trip each.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import CheckFailure, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from b2c_policy_keys import (
    CertificateKeyProvider,
    GeneratedKeyProvider,
    KeySetProvider,
    Pkcs12KeyProvider,
    SecretKeyProvider,
)
from b2c_policy_keys.model import KEYSET_ID_MAX_LENGTH, now_epoch
from key_kinds.material import PFX_PASSWORD, Material

#: Derandomized: the same examples on every run, so the suite never fails by chance (search wider locally with
#: ``--hypothesis-seed=random`` style settings when hunting).
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Every input property each provider knows (the engine may send any of them, with any value).
PROPERTIES: dict[type[ResourceProvider], tuple[str, ...]] = {
    KeySetProvider: ("name", "adopt_existing", "purge_backup_on_delete"),
    SecretKeyProvider: ("keyset_id", "value", "use", "not_before", "expires_at", "version", "enabled"),
    GeneratedKeyProvider: ("keyset_id", "kty", "use", "not_before", "expires_at", "version", "enabled"),
    CertificateKeyProvider: ("keyset_id", "certificate", "enabled"),
    Pkcs12KeyProvider: ("keyset_id", "pfx", "password", "enabled"),
}
PROVIDERS = list(PROPERTIES)

# --- hostile values -----------------------------------------------------------------------------------------

UNKNOWNS = st.sampled_from([Unknown(), rpc.UNKNOWN])
ABSURD_DATES = st.sampled_from(
    [
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1969-12-31T23:59:59Z",
        "2030-02-30T00:00:00Z",
        "2030-01-01T00:00:00",  # no offset
        "2030-01-01T00:00:00+25:00",
        "tomorrow",
        "1" * 5000,  # beyond int()'s digit limit
        "-1",
        " 2030-01-01T00:00:00Z ",
        "1e400",
        "NaN",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([2**63, -(2**63), 10**11, 10**11 - 1, 0, -1, 1.5, 1e308, -1e308]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=3000),  # huge strings
    ABSURD_DATES,
    UNKNOWNS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
        inner.map(lambda v: dict(rpc.wrap_rpc_secret(v))),  # a secret as it travels, wrapped
    ),
    max_leaves=8,
)


@st.composite
def hostile_props(draw: st.DrawFn, provider: type[ResourceProvider]) -> dict[str, Any]:
    """Some known properties with any value, sometimes an unknown property too."""
    names = draw(st.lists(st.sampled_from(PROPERTIES[provider]), unique=True))
    props = {name: draw(VALUES) for name in names}
    if draw(st.booleans()):
        props[draw(st.text(min_size=1, max_size=20))] = draw(VALUES)
    return props


def run_check(provider: type[ResourceProvider], olds: dict[str, Any], news: dict[str, Any]) -> list[CheckFailure]:
    result = provider().check(olds, news)
    assert isinstance(result.inputs, dict)
    return list(result.failures or [])


def assert_failures_are_clear(provider: type[ResourceProvider], failures: list[CheckFailure]) -> None:
    for failure in failures:
        assert failure.property in PROPERTIES[provider], f"unknown property {failure.property!r}"
        # The reason repeats the property, then says the rule ("keyset_id must be a string, got int").
        assert failure.reason.startswith(failure.property + " "), failure.reason
        assert len(failure.reason) > len(failure.property) + 8
        assert len(failure.reason) < 400, "a failure must not echo a huge input"


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.__name__)
@EXAMPLES
@given(data=st.data())
def test_check_never_raises_and_names_property_and_rule(provider: type[ResourceProvider], data: st.DataObject) -> None:
    news = data.draw(hostile_props(provider), label="news")
    olds = data.draw(st.one_of(st.just({}), hostile_props(provider)), label="olds")
    assert_failures_are_clear(provider, run_check(provider, olds, news))


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.__name__)
@EXAMPLES
@given(value=VALUES)
def test_a_wrong_keyset_id_fails_on_that_property(provider: type[ResourceProvider], value: Any) -> None:
    """A keyset_id (or name) that is not a string names itself; one that is a string follows the naming rule."""
    prop = "name" if provider is KeySetProvider else "keyset_id"
    failures = run_check(provider, {}, {prop: value})
    assert_failures_are_clear(provider, failures)
    if not isinstance(rpc.unwrap_rpc_secret(value), str | Unknown) and value != rpc.UNKNOWN:
        assert any(f.property == prop for f in failures), f"{prop}={value!r} was accepted"


# --- valid declarations -----------------------------------------------------------------------------------------

NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=60)
KEYSET_IDS = st.one_of(NAMES, NAMES.map(lambda n: "B2C_1A_" + n)).filter(
    # A valid id: at most the maximum length with the prefix, and a name after the prefix (``B2C_1A_`` alone, in any
    # case, is only the prefix).
    lambda n: len(n if n.startswith("B2C_1A_") else "B2C_1A_" + n) <= KEYSET_ID_MAX_LENGTH and n.upper() != "B2C_1A_"
)


@st.composite
def moments(draw: st.DrawFn, *, low: int, high: int) -> Any:
    """One instant between ``low`` and ``high`` epoch seconds, in each spelling check accepts."""
    seconds = draw(st.integers(min_value=low, max_value=high))
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    offset = timedelta(minutes=draw(st.integers(min_value=-12 * 60, max_value=14 * 60)))
    return draw(
        st.sampled_from(
            [
                seconds,
                float(seconds),
                str(seconds),
                moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                moment.astimezone(timezone_of(offset)).isoformat(),
            ]
        )
    )


def timezone_of(offset: timedelta) -> Any:
    from datetime import timezone

    return timezone(offset)


#: Fixed once, so that generation does not depend on the clock (hypothesis replays examples).
SOON = now_epoch() + 86400


@st.composite
def valid_dates(draw: st.DrawFn) -> dict[str, Any]:
    """Optional not_before and expires_at, the expiry in the future and after the not-before."""
    soon, far = SOON, 95_000_000_000
    props: dict[str, Any] = {}
    nbf = None
    if draw(st.booleans()):
        nbf = draw(st.integers(min_value=0, max_value=far - 10))
        props["not_before"] = draw(moments(low=nbf, high=nbf))
    if draw(st.booleans()):
        props["expires_at"] = draw(moments(low=max(soon, (nbf or 0) + 1), high=far))
    return props


COMMON = {
    "version": st.one_of(st.none(), st.integers(min_value=0, max_value=10**6), st.text(min_size=1, max_size=10)),
    "enabled": st.booleans(),
}


@st.composite
def valid_props(draw: st.DrawFn, provider: type[ResourceProvider], material: Material) -> dict[str, Any]:
    if provider is KeySetProvider:
        return {
            "name": draw(KEYSET_IDS),
            "adopt_existing": draw(st.booleans()),
            "purge_backup_on_delete": draw(st.booleans()),
        }
    props: dict[str, Any] = {"keyset_id": draw(KEYSET_IDS), "enabled": draw(COMMON["enabled"])}
    if provider in (SecretKeyProvider, GeneratedKeyProvider):
        props.update(draw(valid_dates()))
        props["use"] = draw(st.sampled_from(["sig", "enc"]))
        version = draw(COMMON["version"])
        if version is not None:
            props["version"] = version
    if provider is SecretKeyProvider:
        props["value"] = draw(st.text(min_size=1, max_size=200))
    elif provider is GeneratedKeyProvider:
        props["kty"] = draw(st.sampled_from(["RSA", "oct", "rsa", "OCT"]))
    elif provider is CertificateKeyProvider:
        props["certificate"] = draw(st.sampled_from([material.pem, material.der_base64]))
    elif provider is Pkcs12KeyProvider:
        props["pfx"] = PFX
        props["password"] = PFX_PASSWORD
    if draw(st.booleans()):  # any declared input may be unknown during preview
        name = draw(st.sampled_from(sorted(props)))
        props[name] = draw(UNKNOWNS)
    return props


PFX = ""


@pytest.fixture(scope="module", autouse=True)
def _pfx(material: Material) -> None:
    global PFX
    PFX = material.pfx()


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p is not Pkcs12KeyProvider], ids=lambda p: p.__name__)
@EXAMPLES
@given(data=st.data())
def test_valid_declarations_always_pass(
    provider: type[ResourceProvider], material: Material, data: st.DataObject
) -> None:
    news = data.draw(valid_props(provider, material), label="news")
    failures = run_check(provider, {}, news)
    assert failures == [], [f.reason for f in failures]


@settings(EXAMPLES, max_examples=25)
@given(data=st.data())
def test_valid_pfx_declarations_always_pass(material: Material, data: st.DataObject) -> None:
    """Fewer examples: every check opens the PFX (a deliberate key derivation); only key set and unknowns vary."""
    news = data.draw(valid_props(Pkcs12KeyProvider, material), label="news")
    failures = run_check(Pkcs12KeyProvider, {}, news)
    assert failures == [], [f.reason for f in failures]


def test_the_material_round_trips() -> None:
    """The PFX the valid declarations use really is one (so the test above is not vacuous)."""
    assert base64.b64decode(PFX)[:1] == b"\x30"


@pytest.mark.parametrize("value", [5, 10**12, 3.5, ["a"], {"pem": "x"}, [None]], ids=repr)
def test_a_certificate_that_is_not_text_fails_on_certificate(value: Any) -> None:
    """Found by the properties above: check passed these to ``bytes()`` (a TypeError, or 10**12 zero bytes)."""
    failures = run_check(CertificateKeyProvider, {}, {"keyset_id": "Saml", "certificate": value})
    assert [f.property for f in failures] == ["certificate"]
    assert "PEM text or base64" in failures[0].reason


@pytest.mark.parametrize("provider", [SecretKeyProvider, GeneratedKeyProvider], ids=lambda p: p.__name__)
@pytest.mark.parametrize("old_expiry", [[], {"a": 1}, "2030-01-01T00:00:00Z", "not a date", True])
def test_any_old_expiry_in_state_is_survived(provider: type[ResourceProvider], old_expiry: Any) -> None:
    """Found by the properties above: an old ``expires_at`` that was not a number made check raise TypeError."""
    failures = run_check(provider, {"expires_at": old_expiry}, {"keyset_id": "Set", "value": "v", "expires_at": 0})
    assert [f.property for f in failures] == ["expires_at"]
    assert "in the future" in failures[0].reason


#: Every boolean input of each provider (issue 11 B14).
BOOLEANS: dict[type[ResourceProvider], tuple[str, ...]] = {
    KeySetProvider: ("adopt_existing", "purge_backup_on_delete"),
    SecretKeyProvider: ("enabled",),
    GeneratedKeyProvider: ("enabled",),
    CertificateKeyProvider: ("enabled",),
    Pkcs12KeyProvider: ("enabled",),
}
BOOL_SPELLINGS = {"true": True, "false": False}


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.__name__)
@EXAMPLES
@given(data=st.data())
def test_a_boolean_input_is_a_boolean_or_a_failure_naming_it(
    provider: type[ResourceProvider], data: st.DataObject
) -> None:
    """Never Python truthiness: a bool, or 'true'/'false' in any case, becomes that bool; anything else fails."""
    prop = data.draw(st.sampled_from(BOOLEANS[provider]), label="prop")
    spelling = st.sampled_from(["true", "false"]).flatmap(
        lambda word: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in word)).map("".join)
    )
    value = data.draw(st.one_of(st.booleans(), spelling, VALUES), label="value")
    result = provider().check({}, {prop: value})
    named = [f for f in result.failures if f.property == prop]
    value = rpc.unwrap_rpc_secret(value)  # a secret-wrapped boolean is still that boolean
    if isinstance(value, bool):
        assert not named and result.inputs[prop] is value
    elif isinstance(value, str) and value.strip().lower() in BOOL_SPELLINGS:
        assert not named and result.inputs[prop] is BOOL_SPELLINGS[value.strip().lower()]
    elif value is None or isinstance(value, Unknown) or value == rpc.UNKNOWN:
        assert not named
    else:
        assert named and named[0].reason.startswith(f"{prop} must be true or false")
