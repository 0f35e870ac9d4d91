"""The fixed script (issue 12): every call the reference describes, and the refusals it documents.

Steps run in this order and each sends one request, so a record has one entry per step and two records align by step
name. A step that needs what an earlier one made (a key set, a kid) raises Skip when it is missing. Key sets:
``Rsa`` (RSA, sig: generateKey, certificates, getActiveKey, keys_v2, mixing, the read-only app) and ``Oct`` (oct,
sig: generateKey, uploadSecret, PUT, delete and ``.bak``); ``Missing`` and ``ReadOnly`` are never meant to exist.
Every step that sends POST, PUT, PATCH or DELETE is a ``write``: a read-only main credential skips it, because what
it might create could not be cleaned up, even when the read-only app is the one sending it.
"""

from __future__ import annotations

from typing import Any

from b2c_policy_keys.conformance.probe import COLLECTION, Probe, Skip, Step
from b2c_policy_keys.conformance.scope import full_id
from b2c_policy_keys.conformance.throwaway import random_jwk_k, random_secret, throwaway_certificate

KEYSET = COLLECTION + "/{keySet}"


def _need(probe: Probe, key: str) -> Any:
    value = probe.ctx.get(key)
    if value is None:
        raise Skip(f"needs {key}, which an earlier step did not produce")
    return value


def _create(probe: Probe, tag: str, key: str) -> None:
    reply = probe.call("POST", COLLECTION, body={"id": probe.name(tag)})
    if reply.status == 201 and isinstance(reply.json, dict) and isinstance(reply.json.get("id"), str):
        probe.ctx[key] = probe.scope.check(reply.json["id"])


def _kid(probe: Probe, reply_json: Any, key: str) -> None:
    if isinstance(reply_json, dict) and isinstance(reply_json.get("kid"), str):
        probe.ctx[key] = reply_json["kid"]


def create_rsa(probe: Probe) -> None:
    _create(probe, "Rsa", "rsa")


def create_duplicate(probe: Probe) -> None:
    _need(probe, "rsa")
    probe.call("POST", COLLECTION, body={"id": probe.name("Rsa")})


def get_missing(probe: Probe) -> None:
    probe.call("GET", KEYSET, keyset=full_id(probe.name("Missing")))


def get_active_key_missing(probe: Probe) -> None:
    probe.call("GET", KEYSET + "/getActiveKey", keyset=full_id(probe.name("Missing")))


def generate_rsa(probe: Probe) -> None:
    reply = probe.call("POST", KEYSET + "/generateKey", keyset=_need(probe, "rsa"), body={"use": "sig", "kty": "RSA"})
    _kid(probe, reply.json, "rsa_kid")


def upload_certificate(probe: Probe) -> None:
    keyset = _need(probe, "rsa")
    certificate = probe.ctx.setdefault("certificate", throwaway_certificate())
    probe.call("POST", KEYSET + "/uploadCertificate", keyset=keyset, body={"key": certificate.cer_b64})


def upload_pkcs12(probe: Probe) -> None:
    keyset = _need(probe, "rsa")
    certificate = probe.ctx.setdefault("certificate", throwaway_certificate())
    body = {"key": certificate.pfx_b64, "password": probe.secret(certificate.password)}
    probe.call("POST", KEYSET + "/uploadPkcs12", keyset=keyset, body=body)


def get_keyset(probe: Probe) -> None:
    probe.call("GET", KEYSET, keyset=_need(probe, "rsa"))


def get_active_key(probe: Probe) -> None:
    probe.call("GET", KEYSET + "/getActiveKey", keyset=_need(probe, "rsa"))


def get_active_key_by_post(probe: Probe) -> None:
    probe.call("POST", KEYSET + "/getActiveKey", keyset=_need(probe, "rsa"))


def keys_v2_get(probe: Probe) -> None:
    probe.call("GET", KEYSET + "/keys_v2/{kid}", keyset=_need(probe, "rsa"), kid=_need(probe, "rsa_kid"))


def keys_v2_patch(probe: Probe) -> None:
    # "enabled" on an enabled key: the call is exercised without changing which key is active.
    keyset, kid = _need(probe, "rsa"), _need(probe, "rsa_kid")
    probe.call("PATCH", KEYSET + "/keys_v2/{kid}", keyset=keyset, kid=kid, body={"status": "enabled"})


def keys_v2_collection(probe: Probe) -> None:
    probe.call("GET", KEYSET + "/keys_v2", keyset=_need(probe, "rsa"))


def mix_rsa_oct(probe: Probe) -> None:
    body = {"use": "sig", "k": probe.secret(random_secret())}
    probe.call("POST", KEYSET + "/uploadSecret", keyset=_need(probe, "rsa"), body=body)


def mix_sig_enc(probe: Probe) -> None:
    probe.call("POST", KEYSET + "/generateKey", keyset=_need(probe, "rsa"), body={"use": "enc", "kty": "RSA"})


def patch_keyset(probe: Probe) -> None:
    # What the Graph SDKs send instead of PUT (reference: "PUT vs PATCH"); the body changes nothing if taken.
    keyset = _need(probe, "rsa")
    probe.call("PATCH", KEYSET, keyset=keyset, body={"id": keyset})


def create_oct(probe: Probe) -> None:
    _create(probe, "Oct", "oct")


def generate_oct(probe: Probe) -> None:
    probe.call("POST", KEYSET + "/generateKey", keyset=_need(probe, "oct"), body={"use": "sig", "kty": "oct"})


def upload_secret(probe: Probe) -> None:
    body = {"use": "sig", "k": probe.secret(random_secret())}
    probe.call("POST", KEYSET + "/uploadSecret", keyset=_need(probe, "oct"), body=body)


def put_with_kid(probe: Probe) -> None:
    keyset = _need(probe, "oct")
    key = {"kid": probe.secret(random_jwk_k()[:43]), "kty": "oct", "use": "sig", "k": probe.secret(random_jwk_k())}
    probe.call("PUT", KEYSET, keyset=keyset, body={"keys": [key]})


def put(probe: Probe) -> None:
    keyset = _need(probe, "oct")
    probe.call(
        "PUT", KEYSET, keyset=keyset, body={"keys": [{"kty": "oct", "use": "sig", "k": probe.secret(random_jwk_k())}]}
    )


def readonly_get(probe: Probe) -> None:
    get_keyset(probe)


def readonly_get_active_key(probe: Probe) -> None:
    get_active_key(probe)


def readonly_keys_v2_get(probe: Probe) -> None:
    keys_v2_get(probe)


def readonly_keys_v2_collection(probe: Probe) -> None:
    keys_v2_collection(probe)


def readonly_create(probe: Probe) -> None:
    probe.call("POST", COLLECTION, body={"id": probe.name("ReadOnly")})


def readonly_generate(probe: Probe) -> None:
    generate_rsa_refused = {"use": "sig", "kty": "RSA"}
    probe.call("POST", KEYSET + "/generateKey", keyset=_need(probe, "rsa"), body=generate_rsa_refused)


def readonly_keys_v2_patch(probe: Probe) -> None:
    keys_v2_patch(probe)


def readonly_put(probe: Probe) -> None:
    probe.call("PUT", KEYSET, keyset=_need(probe, "rsa"), body={"keys": []})


def readonly_delete(probe: Probe) -> None:
    probe.call("DELETE", KEYSET, keyset=_need(probe, "rsa"))


def delete_oct(probe: Probe) -> None:
    probe.call("DELETE", KEYSET, keyset=_need(probe, "oct"))


def get_bak(probe: Probe) -> None:
    probe.call("GET", KEYSET, keyset=_need(probe, "oct") + ".bak")


def delete_bak(probe: Probe) -> None:
    probe.call("DELETE", KEYSET, keyset=_need(probe, "oct") + ".bak")


def get_deleted(probe: Probe) -> None:
    probe.call("GET", KEYSET, keyset=_need(probe, "oct"))


def delete_rsa(probe: Probe) -> None:
    probe.call("DELETE", KEYSET, keyset=_need(probe, "rsa"))


def delete_rsa_bak(probe: Probe) -> None:
    probe.call("DELETE", KEYSET, keyset=_need(probe, "rsa") + ".bak")


STEPS: list[Step] = [
    Step("create", create_rsa, write=True),
    Step("create.duplicate", create_duplicate, write=True),
    Step("get.missing", get_missing),
    Step("getActiveKey.missing", get_active_key_missing),
    Step("generateKey.rsa", generate_rsa, write=True),
    Step("uploadCertificate", upload_certificate, write=True),
    Step("uploadPkcs12", upload_pkcs12, write=True),
    Step("get", get_keyset),
    Step("getActiveKey.get", get_active_key),
    Step("getActiveKey.post", get_active_key_by_post, write=True),
    Step("keys_v2.get", keys_v2_get),
    Step("keys_v2.patch", keys_v2_patch, write=True),
    Step("keys_v2.collection", keys_v2_collection),
    Step("mix.rsa_oct", mix_rsa_oct, write=True),
    Step("mix.sig_enc", mix_sig_enc, write=True),
    Step("keyset.patch", patch_keyset, write=True),
    Step("create.oct", create_oct, write=True),
    Step("generateKey.oct", generate_oct, write=True),
    Step("uploadSecret", upload_secret, write=True),
    Step("put.with_kid", put_with_kid, write=True),
    Step("put", put, write=True),
    Step("readonly.get", readonly_get, read_only_app=True),
    Step("readonly.getActiveKey", readonly_get_active_key, read_only_app=True),
    Step("readonly.keys_v2.get", readonly_keys_v2_get, read_only_app=True),
    Step("readonly.keys_v2.collection", readonly_keys_v2_collection, read_only_app=True),
    Step("readonly.create", readonly_create, read_only_app=True, write=True),
    Step("readonly.generateKey", readonly_generate, read_only_app=True, write=True),
    Step("readonly.keys_v2.patch", readonly_keys_v2_patch, read_only_app=True, write=True),
    Step("readonly.put", readonly_put, read_only_app=True, write=True),
    Step("readonly.delete", readonly_delete, read_only_app=True, write=True),
    Step("delete", delete_oct, write=True),
    Step("get.bak", get_bak),
    Step("delete.bak", delete_bak, write=True),
    Step("get.deleted", get_deleted),
    Step("delete.rsa", delete_rsa, write=True),
    Step("delete.rsa.bak", delete_rsa_bak, write=True),
]
