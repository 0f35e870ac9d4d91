"""Partial creates are recorded, not lost (issue 11 B05, B06), through the real provider host.

A create that did its work at the service and then failed (a host killed mid-upload, a PATCH past its retry budget)
must leave the engine something to finish, or be recognised on the next run; never an untracked enabled key.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from b2c_policy_keys import CertificateKeyProvider, KeySetProvider, Pkcs12KeyProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from key_kinds.material import PFX_PASSWORD, Material
from support.host import ProviderError

from .conftest import Hosts, fault_taken, wait_until


@pytest.mark.parametrize(
    ("provider", "action", "inputs"),
    [
        (CertificateKeyProvider, "uploadCertificate", lambda m: {"certificate": m.pem}),
        (Pkcs12KeyProvider, "uploadPkcs12", lambda m: {"pfx": m.pfx(), "password": PFX_PASSWORD}),
    ],
    ids=["CertificateKey", "Pkcs12Key"],
)
def test_b05_a_host_killed_mid_upload_leaves_a_key_the_next_create_recognises_by_thumbprint(
    hosts: Hosts, emulator: Emulator, graph: Any, material: Material, provider: Any, action: str, inputs: Any
) -> None:
    first = hosts()
    first.up(KeySetProvider(), "set", {"name": "Killed"})
    news = {"keyset_id": "Killed", **inputs(material)}
    slow = emulator.add_fault(method="POST", path_regex=rf"/{action}$", kind="latency", latency_ms=800, count=1)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(first.up, provider(), "k", news)
        wait_until(fault_taken(emulator, slow), "the upload to reach the emulator")
        os.kill(first.pid, signal.SIGKILL)  # the host dies; the service still finishes the upload
        with pytest.raises(ProviderError):
            pending.result()
    wait_until(lambda: bool(graph.get_keyset("Killed").keys), "the upload to land")

    state = hosts().up(provider(), "k", news)  # the next `pulumi up` creates the resource again
    assert [k.kid for k in graph.get_keyset("Killed").keys] == [state.outputs["kid"]], "a duplicate was uploaded"
    assert state.outputs["thumbprint"] == material.thumbprint
    posts = [r for r in emulator.requests_log() if r["method"] == "POST" and r["path"].endswith("/" + action)]
    assert len(posts) == 1


def test_b05_a_retired_copy_of_the_certificate_is_not_adopted(
    hosts: Hosts, emulator: Emulator, graph: Any, material: Material
) -> None:
    """Only an enabled key proves an interrupted upload: a disabled one was retired (a destroy) and stays so."""
    host = hosts()
    host.up(KeySetProvider(), "set", {"name": "Retired"})
    news = {"keyset_id": "Retired", "certificate": material.pem}
    host.destroy(host.up(CertificateKeyProvider(), "c", news))
    state = hosts().up(CertificateKeyProvider(), "c", news)
    live = {k.kid: k.status for k in graph.get_keyset("Retired").keys}
    assert live[state.outputs["kid"]] == "enabled" and sorted(live.values()) == ["disabled", "enabled"]


def test_b06_a_disable_that_fails_after_the_upload_records_the_key_with_its_real_status(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    host = hosts(**{"b2c:retryTimeout": "1"})
    host.up(KeySetProvider(), "set", {"name": "Off"})
    emulator.add_fault(method="PATCH", path_regex=r"/keySets/B2C_1A_Off/keys_v2/", kind="status", status=503)
    news = {"keyset_id": "Off", "value": "off-value", "enabled": False}
    state = host.up(SecretKeyProvider(), "k", news)  # the upload worked: the create must not fail and lose it
    kid = state.outputs["kid"]
    assert state.outputs["status"] == "enabled" and state.outputs["enabled"] is False
    assert graph.get_keyset("Off").key(kid).status == "enabled"
    wait_until(lambda: "could not be disabled" in host.output.text, "the host's warning")
    assert kid in host.output.text and "off-value" not in host.output.text

    emulator.clear_faults()
    plan = host.preview(SecretKeyProvider(), "k", news, state)
    assert plan.op == "update"  # the next up shows the enabled change ...
    done = host.up(SecretKeyProvider(), "k", news, state)
    assert (
        done.outputs["status"] == "disabled" and graph.get_keyset("Off").key(kid).status == "disabled"
    )  # ... and makes it
