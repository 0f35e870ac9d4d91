"""A key's value appears nowhere but the encrypted input: not in the pickle, outputs, host output, errors or logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from support.host import ProviderError, ProviderHost, pickled

VALUE = "sc4n-me-7f3a9c1e-value"


def test_value_never_leaks(host: ProviderHost, emulator: Emulator) -> None:
    keyset = host.up(KeySetProvider(), "ks", {"name": "Scanned"})
    news = {"keyset_id": keyset.id, "value": VALUE, "expires_at": "2099-01-01T00:00:00Z"}
    state = host.up(SecretKeyProvider(), "k", news)
    refreshed = host.refresh(state)
    assert refreshed is not None
    rotated = host.up(SecretKeyProvider(), "k", {**news, "value": VALUE + "-2"}, state)
    host.destroy(rotated)

    failures: list[str] = []
    with pytest.raises(ProviderError) as missing_set:  # an error raised while the value is in hand
        host.up(SecretKeyProvider(), "k2", {**news, "keyset_id": "NoSuchSet"})
    failures.append(str(missing_set.value))
    bad = host.check(SecretKeyProvider(), "k3", {}, {**news, "use": VALUE})
    failures.extend(reason for _, reason in bad.failures)
    assert bad.failures and missing_set.value.details

    places: dict[str, Any] = {
        "pickled provider": pickled(SecretKeyProvider()),
        "outputs": [state.outputs, refreshed.outputs, rotated.outputs],
        "host stdout/stderr": host.output.text,
        "exception texts": failures,
        "emulator request log": emulator.requests_log(),
    }
    for place, content in places.items():
        text = content if isinstance(content, str) else json.dumps(content, default=str)
        assert VALUE not in text, f"the value leaked into the {place}"
        assert emulator.client_secret not in text, f"the client secret from Configure leaked into the {place}"
    # The fingerprint, the only value-derived output, comes back as a secret.
    assert "value_fingerprint" in state.secret_outputs and "value_fingerprint" in rotated.secret_outputs
