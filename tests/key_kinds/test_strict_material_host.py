"""Issue 11 B10 and B13 through the real provider host: a certificate input holding a private key is refused, and a
PFX whose key derivation is absurdly expensive is refused before it is opened. Neither reaches the emulator."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from b2c_policy_keys import CertificateKeyProvider, KeySetProvider, Pkcs12KeyProvider
from support.der import with_mac_iterations
from support.host import CheckFailed, ProviderHost

from .conftest import MakeMaterial, graph_calls
from .material import PFX_PASSWORD


def _nodes_bundle(make_material: MakeMaterial) -> tuple[str, str]:
    """What `openssl pkcs12 -nodes` writes: bag attributes, the private key and the certificate in one PEM."""
    material = make_material()
    key_pem = material.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    body = "".join(key_pem.splitlines()[1:-1])
    return f"Bag Attributes\n    localKeyID: 01\n{key_pem}{material.pem}", body


@pytest.mark.parametrize("encoded", [False, True])
def test_a_certificate_holding_its_private_key_is_refused_and_the_key_goes_nowhere(
    host: ProviderHost, emulator: Any, make_material: MakeMaterial, encoded: bool
) -> None:
    bundle, key_body = _nodes_bundle(make_material)
    certificate = base64.b64encode(bundle.encode()).decode() if encoded else bundle
    ks = host.up(KeySetProvider(), "saml-set", {"name": "Saml"})
    emulator.clear_requests()
    news = {"keyset_id": ks.outputs["keyset_id"], "certificate": certificate}
    checked = host.check(CertificateKeyProvider(), "saml", {}, news)
    assert [prop for prop, _ in checked.failures] == ["certificate"]
    reason = checked.failures[0][1]
    assert "holds a private key" in reason and "Pkcs12Key" in reason and "openssl x509 -in f.pem" in reason
    assert "certificate" not in checked.inputs  # the refused input does not travel on
    with pytest.raises(CheckFailed):
        host.up(CertificateKeyProvider(), "saml", news)
    assert graph_calls(emulator) == []
    for text in (repr(checked), host.output.text):
        assert key_body[:64] not in text and key_body[-64:] not in text


def test_a_pfx_with_an_absurd_kdf_iteration_count_is_refused_before_the_open(
    host: ProviderHost, emulator: Any, make_material: MakeMaterial
) -> None:
    """Opening it would run 2^31-1 iterations (minutes of one core) on every preview: Check refuses it at once."""
    pfx = with_mac_iterations(base64.b64decode(make_material().pfx()), 2**31 - 1)
    news = {"keyset_id": "ClientCert", "pfx": base64.b64encode(pfx).decode(), "password": PFX_PASSWORD}
    emulator.clear_requests()
    checked = host.check(Pkcs12KeyProvider(), "pfx", {}, news)
    assert [prop for prop, _ in checked.failures] == ["pfx"]
    assert "2,147,483,647 iterations" in checked.failures[0][1]
    assert "openssl pkcs12 -export -iter 2048" in checked.failures[0][1]
    assert PFX_PASSWORD not in checked.failures[0][1]
    assert graph_calls(emulator) == []
