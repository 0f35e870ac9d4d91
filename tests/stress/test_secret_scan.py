"""One secret scan over everything a full lifecycle of every resource kind produces.

create -> preview -> rotate -> refresh -> destroy of key sets, secret, generated, certificate and PFX keys, through
the real provider host (logging at DEBUG), against an emulator keeping its data where ``bin/quickstart`` keeps it
(``.local/emulator``), with a few failures on the way (a service error echoing the secret, a wrong PFX password, a
missing key set). Then every place a secret could end up is searched for every secret, in clear and in base64:
pickled providers, outputs (other than the ones returned as secrets), host stdout/stderr with DEBUG logs, exception
texts, the emulator's request log, and the emulator's files (its SQLite file included).
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys import (
    CertificateKeyProvider,
    GeneratedKeyProvider,
    KeySetProvider,
    Pkcs12KeyProvider,
    SecretKeyProvider,
)
from b2c_policy_keys.emulator import Emulator
from support.host import SECRET_CONFIG_KEYS, CheckFailed, ProviderError, ProviderHost, State, emulator_config, pickled

from .conftest import make_material

SECRET_V1 = "scan-secret-one-6b1f2e"
SECRET_V2 = "scan-secret-two-90c4aa"
SECRET_ECHOED = "scan-secret-echoed-3d7e51"
PASSWORD_A = "scan-pfx-pass-A-51c9"
PASSWORD_B = "scan-pfx-pass-B-e02d"
PASSWORD_WRONG = "scan-pfx-wrong-77aa"
#: A JSON Web Token (an access token, a federated assertion): header and payload are base64url JSON objects.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
PROVIDERS = (KeySetProvider, SecretKeyProvider, GeneratedKeyProvider, CertificateKeyProvider, Pkcs12KeyProvider)

# Makes the host log everything at DEBUG to stderr (urllib3, msal, the package), as a user debugging would.
SITECUSTOMIZE = "import logging, sys\nlogging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"


def _forms(secret: str) -> set[str]:
    """The secret as text and as base64 (what a careless log of a request body would show)."""
    encoded = base64.b64encode(secret.encode()).decode()
    return {secret, encoded.rstrip("="), base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")}


def _host_env(tmp: Path) -> dict[str, str]:
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _lifecycle(host: ProviderHost, provider: Any, name: str, first: dict[str, Any], second: dict[str, Any]) -> list:
    """create -> no-change preview -> rotation preview -> rotate -> refresh -> destroy; every state along the way."""
    state = host.up(provider, name, first)
    assert host.preview(provider, name, first, state).op == "same"
    assert host.preview(provider, name, second, state).op == "replace"
    rotated = host.up(provider, name, second, state)
    refreshed = host.refresh(rotated)
    assert refreshed is not None
    host.destroy(refreshed)
    return [state, rotated, refreshed]


def test_no_secret_appears_anywhere_in_a_full_lifecycle(tmp_path: Path) -> None:
    material_a, material_b = make_material("scan-a"), make_material("scan-b")
    pfx_a, pfx_b = material_a.pfx(PASSWORD_A), material_b.pfx(PASSWORD_B)
    data_dir = tmp_path / ".local" / "emulator"  # where bin/quickstart keeps the emulator's data

    states: list[State] = []
    errors: list[str] = []
    with Emulator(data_dir) as emu, ProviderHost(env=_host_env(tmp_path)) as host:
        host.configure(emulator_config(emu), secrets=SECRET_CONFIG_KEYS)
        sets = {
            kind: host.up(KeySetProvider(), f"{kind}-set", {"name": f"Scan{kind}", "purge_backup_on_delete": True})
            for kind in ("Secret", "Generated", "Certificate", "Pkcs12")
        }
        states += sets.values()
        dates = {"expires_at": "2099-12-31T23:59:59Z"}
        states += _lifecycle(
            host,
            SecretKeyProvider(),
            "secret",
            {"keyset_id": "ScanSecret", "value": SECRET_V1, **dates},
            {"keyset_id": "ScanSecret", "value": SECRET_V2, **dates},
        )
        states += _lifecycle(
            host,
            GeneratedKeyProvider(),
            "generated",
            {"keyset_id": "ScanGenerated", "version": 1},
            {"keyset_id": "ScanGenerated", "version": 2},
        )
        states += _lifecycle(
            host,
            CertificateKeyProvider(),
            "cert",
            {"keyset_id": "ScanCertificate", "certificate": material_a.pem},
            {"keyset_id": "ScanCertificate", "certificate": material_b.der_base64},
        )
        states += _lifecycle(
            host,
            Pkcs12KeyProvider(),
            "pfx",
            {"keyset_id": "ScanPkcs12", "pfx": pfx_a, "password": PASSWORD_A},
            {"keyset_id": "ScanPkcs12", "pfx": pfx_b, "password": PASSWORD_B},
        )

        # Failures while secrets are in hand: a service answer echoing them, a wrong password, a missing key set.
        emu.add_fault(
            method="POST", path_regex="uploadSecret$", kind="status", status=400, code="AADB2C90001",
            message=f"The value '{SECRET_ECHOED}' is not acceptable.", count=1,
        )  # fmt: skip
        emu.add_fault(
            method="POST", path_regex="uploadPkcs12$", kind="status", status=400, code="AADB2C90001",
            message=f"Password '{PASSWORD_A}' rejected for '{pfx_a[:60]}'.", count=1,
        )  # fmt: skip
        for provider, news in (
            (SecretKeyProvider(), {"keyset_id": "ScanSecret", "value": SECRET_ECHOED}),
            (Pkcs12KeyProvider(), {"keyset_id": "ScanPkcs12", "pfx": pfx_a, "password": PASSWORD_A}),
            (Pkcs12KeyProvider(), {"keyset_id": "ScanPkcs12", "pfx": pfx_a, "password": PASSWORD_WRONG}),
            (SecretKeyProvider(), {"keyset_id": "NoSuchSet", "value": SECRET_V1}),
        ):
            with pytest.raises((ProviderError, CheckFailed)) as failed:
                host.up(provider, "failing", news)
            errors.append(str(failed.value))
        assert len(errors) == 4 and all(errors)

        for state in sets.values():
            host.destroy(state)
        request_log = emu.requests_log()
        host_output = host.output.text
        client_secret = emu.client_secret

    assert "DEBUG" in host_output, "the host did not log at DEBUG: the scan of logs would prove nothing"
    assert (data_dir / "tenant.sqlite3").is_file(), "the scan of the emulator's SQLite file would prove nothing"

    uploaded = [SECRET_V1, SECRET_V2, SECRET_ECHOED, pfx_a, pfx_b]
    passwords = [PASSWORD_A, PASSWORD_B, PASSWORD_WRONG]
    everywhere = [*uploaded, *passwords, client_secret]
    places: dict[str, str] = {
        "pickled providers": json.dumps([pickled(p()) for p in PROVIDERS]),
        "outputs": json.dumps(
            [{k: v for k, v in s.outputs.items() if k not in s.secret_outputs} for s in states], default=str
        ),
        "host stdout/stderr (DEBUG logs)": host_output,
        "exception texts": "\n".join(errors),
        "emulator request log": json.dumps(request_log),
    }
    for place, text in places.items():
        for secret in everywhere:
            for form in _forms(secret) if len(secret) < 100 else {secret, secret[100:160]}:
                assert form not in text, f"a secret ({secret[:6]}...) leaked into the {place}"
        assert not JWT.search(text), f"a token leaked into the {place}"

    # The emulator's files (what .local/emulator holds after a quickstart): no uploaded value, no PFX password.
    for path in (p for p in data_dir.rglob("*") if p.is_file()):
        content = path.read_bytes()
        assert not JWT.search(content.decode("latin-1")), f"a token is stored in {path.name}"
        for secret in [*uploaded[:3], *passwords]:
            for form in _forms(secret):
                assert form.encode() not in content, f"{secret[:6]}... is stored in clear in {path.name}"
        for pfx in (pfx_a, pfx_b):
            assert pfx[100:160].encode() not in content, f"a PFX is stored as uploaded in {path.name}"
            assert base64.b64decode(pfx)[100:140] not in content, f"a PFX is stored as uploaded in {path.name}"
