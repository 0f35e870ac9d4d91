"""Every key-set operation against the emulator over real HTTPS, returning domain objects."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import NotFoundError
from b2c_policy_keys.graph import GraphClient, client_for
from b2c_policy_keys.model import Key, KeySet, now_epoch

from .support import app_certificate, emulator_settings, graph_requests


@pytest.fixture
def client(emulator: Emulator) -> GraphClient:
    return GraphClient(emulator_settings(emulator))


def test_key_set_lifecycle_with_id_normalisation(client: GraphClient) -> None:
    created = client.create_keyset("lifecycle")
    assert created == KeySet(id="B2C_1A_lifecycle")
    assert client.get_keyset("lifecycle").id == "B2C_1A_lifecycle"
    assert client.get_keyset("B2C_1A_lifecycle").id == "B2C_1A_lifecycle"
    assert "B2C_1A_lifecycle" in {k.id for k in client.list_keysets()}
    client.delete_keyset("lifecycle")
    with pytest.raises(NotFoundError):
        client.get_keyset("lifecycle")
    assert "B2C_1A_lifecycle.bak" in {k.id for k in client.list_keysets()}


def test_list_follows_next_links(client: GraphClient, emulator: Emulator) -> None:
    for i in range(5):
        client.create_keyset(f"page{i}")
    emulator.clear_requests()
    ids = [k.id for k in client.list_keysets(page_size=2)]
    assert sorted(ids) == [f"B2C_1A_page{i}" for i in range(5)]
    assert graph_requests(emulator, "GET", "/trustFramework/keySets") == 3


def test_generate_key_and_read_it_back(client: GraphClient) -> None:
    client.create_keyset("gen")
    nbf = datetime.now(tz=UTC) - timedelta(minutes=1)
    exp = nbf + timedelta(days=30)
    key = client.generate_key("gen", use="sig", kty="RSA", nbf=nbf, exp=exp)
    assert isinstance(key, Key)
    assert (key.kty, key.use, key.nbf, key.exp) == ("RSA", "sig", int(nbf.timestamp()), int(exp.timestamp()))
    assert key.n and key.e
    assert key.not_before == nbf.replace(microsecond=0)
    assert client.get_key("gen", key.kid) == key
    assert client.get_active_key("gen").kid == key.kid
    assert client.get_keyset("gen").keys == (key,)


def test_upload_secret_stores_the_value_without_returning_it(client: GraphClient, emulator: Emulator) -> None:
    client.create_keyset("secret")
    exp = now_epoch() + 86400
    key = client.upload_secret("secret", use="sig", value="an-uploaded-value-123", exp=str(exp))
    assert (key.kty, key.use, key.exp) == ("oct", "sig", exp)
    assert emulator.secret_matches("B2C_1A_secret", key.kid, "an-uploaded-value-123")


def test_upload_certificate_and_pkcs12(client: GraphClient) -> None:
    pki = app_certificate("upload")
    client.create_keyset("cert")
    der = pki.cert.public_bytes(serialization.Encoding.DER)
    key = client.upload_certificate("cert", certificate=base64.b64encode(der).decode())
    assert key.x5c and key.x5t and key.kty == "RSA"

    client.create_keyset("pfx")
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .build(b"pfx-password")
    )
    pfx = pkcs12.serialize_key_and_certificates(b"k", pki.key, pki.cert, None, encryption)
    key = client.upload_pkcs12("pfx", pfx=base64.b64encode(pfx).decode(), password="pfx-password")
    assert key.kty == "RSA" and key.x5t


def test_disable_a_key(client: GraphClient) -> None:
    client.create_keyset("status")
    key = client.generate_key("status", use="enc", kty="RSA")
    client.set_key_status("status", key.kid, "disabled")
    assert client.get_key("status", key.kid).status == "disabled"


def test_replace_uses_put_and_returns_the_new_set(client: GraphClient, emulator: Emulator) -> None:
    client.create_keyset("replace")
    client.generate_key("replace", use="sig", kty="oct")
    emulator.clear_requests()
    replaced = client.replace_keyset(
        "replace", [{"kty": "oct", "use": "sig", "k": base64.urlsafe_b64encode(b"0" * 32).decode().rstrip("=")}]
    )
    assert len(replaced.keys) == 1
    assert [e["method"] for e in emulator.requests_log() if e["path"].startswith("/beta/")] == ["PUT"]


def test_client_for_shares_one_client_per_settings(emulator: Emulator) -> None:
    settings = emulator_settings(emulator)
    assert client_for(settings) is client_for(emulator_settings(emulator))
    assert client_for(settings) is not client_for(emulator_settings(emulator, **{"b2c:retryTimeout": "7"}))


def test_keyset_lock_is_shared_and_reentrant(emulator: Emulator) -> None:
    a = GraphClient(emulator_settings(emulator))
    b = GraphClient(emulator_settings(emulator, **{"b2c:retryTimeout": "9"}))
    assert a.keyset_lock("x") is b.keyset_lock("B2C_1A_x")
    assert a.keyset_lock("x") is not a.keyset_lock("y")
    with a.keyset_lock("lockme"):
        a.create_keyset("lockme")  # the client's own write takes the same lock again: must not deadlock
    assert a.get_keyset("lockme").id == "B2C_1A_lockme"
