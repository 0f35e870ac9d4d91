"""What the benchmark needs from the engine-level host driver it shares with the tests (``ProviderHost``)."""

from __future__ import annotations

import pytest
from pulumi.dynamic import ResourceProvider

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.resources.keyset import KeySetProvider
from b2c_policy_keys.resources.secret_key import SecretKeyProvider
from b2c_policy_keys.testing import host as host_module
from b2c_policy_keys.testing.host import SECRET_CONFIG_KEYS, CheckFailed, ProviderHost, emulator_config


def _count_pickles(monkeypatch: pytest.MonkeyPatch) -> list[type]:
    """The provider classes ``ProviderHost`` pickles, in order (in-process pickling only: no network is replaced)."""
    made: list[type] = []
    real = host_module.pickled

    def counting(provider: ResourceProvider) -> str:
        made.append(type(provider))
        return real(provider)

    monkeypatch.setattr(host_module, "pickled", counting)
    return made


def test_reused_pickles_are_made_once_per_provider_class_and_work(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _count_pickles(monkeypatch)
    with ProviderHost(reuse_pickles=True) as host:
        host.configure(emulator_config(emulator), SECRET_CONFIG_KEYS)
        keysets = [host.up(KeySetProvider(), f"ks{i}", {"name": f"BenchPickle{i}"}) for i in range(2)]
        key = host.up(SecretKeyProvider(), "k", {"keyset_id": keysets[0].id, "value": "bench-pickle-value"})
        assert host.preview(SecretKeyProvider(), "k", dict(key.inputs), key).op == "same"
    assert made == [KeySetProvider, SecretKeyProvider]
    assert key.id and "bench-pickle-value" not in host.output.text


def test_without_reuse_every_call_pickles_its_provider(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _count_pickles(monkeypatch)
    with ProviderHost() as host:
        host.configure(emulator_config(emulator), SECRET_CONFIG_KEYS)
        state = host.up(KeySetProvider(), "ks", {"name": "BenchNoReuse"})
        host.preview(KeySetProvider(), "ks", {"name": "BenchNoReuse"}, state)
    assert made == [KeySetProvider, KeySetProvider]


def test_port_line_time_empty_call_and_a_failed_check_that_stops_a_run(emulator: Emulator) -> None:
    with ProviderHost(reuse_pickles=True) as host:
        assert host.port_line_seconds > 0
        assert host.plugin_info()  # answered without Configure or a provider: the bare gRPC round trip
        host.configure(emulator_config(emulator), SECRET_CONFIG_KEYS)
        with pytest.raises(CheckFailed, match="keyset_id") as failed:
            host.checked(SecretKeyProvider(), "k", {"value": "bench-check-value"})
    assert "bench-check-value" not in host.output.text + str(failed.value)
