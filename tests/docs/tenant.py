"""The tenant the docs show: a real ``b2c-keys emulator`` process, populated with the key sets of the docs' samples.

The CLI samples were captured against five key sets (a healthy signing key, an encryption key expiring in 12 days,
a Facebook secret, a SAML set whose only key is disabled, an empty set); the quickstart's starter set is a subset.
The emulator runs as users run it, from the installed ``b2c-keys``, with its data in the default directory of a
throwaway ``HOME``, so the docs' ``~/.local/share/b2c-policy-keys/emulator`` is this emulator's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from b2c_policy_keys.graph import GraphClient, client_for, resolve_settings

#: The installed command, beside this interpreter (the venv's ``bin``).
B2C_KEYS = str(Path(sys.executable).with_name("b2c-keys"))
#: Variables that would point a command at a real tenant or credential: never inherited by what the docs run.
CREDENTIAL_PREFIXES = ("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_", "ACTIONS_ID_TOKEN_")
#: The data directory ``b2c-keys emulator`` uses by default, under ``HOME`` (``cli/emulator_cmd.default_data_dir``).
DEFAULT_DATA = Path(".local/share/b2c-policy-keys/emulator")
FACEBOOK_SECRET = "docs-facebook-secret-7c1e"


@dataclass(frozen=True)
class DocsTenant:
    home: Path
    line: Mapping[str, str]  # the emulator's JSON line

    @property
    def data_dir(self) -> Path:
        return self.home / DEFAULT_DATA

    @property
    def port(self) -> int:
        return int(self.line["graph_url"].rsplit(":", 1)[1])

    def environ(self) -> dict[str, str]:
        return clean_environ(self.home)

    def graph(self) -> GraphClient:
        config = {
            "b2c:tenantId": self.line["tenant_id"],
            "b2c:clientId": self.line["client_id"],
            "b2c:clientSecret": self.line["client_secret"],
            "b2c:graphUrl": self.line["graph_url"],
            "b2c:authorityHost": self.line["authority_host"],
            "b2c:caBundle": self.line["ca_bundle"],
        }
        return client_for(resolve_settings(config.get, env={}))


def clean_environ(home: Path) -> dict[str, str]:
    """A user's shell with ``home``: the venv's commands first, no credential of the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    env.pop("XDG_DATA_HOME", None)
    env.update(HOME=str(home), PATH=f"{Path(B2C_KEYS).parent}{os.pathsep}{env.get('PATH', '')}")
    return env


@contextmanager
def running_emulator(argv: list[str], env: Mapping[str, str], cwd: Path) -> Iterator[dict[str, str]]:
    """``b2c-keys emulator ...`` as a process: its JSON line once it listens; SIGTERM at the end must exit 0."""
    process = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # flushed once listening; pytest-timeout bounds a hang
        if not first:
            raise AssertionError(f"{' '.join(argv)} printed no JSON line: {process.communicate(timeout=30)[1]}")
        yield json.loads(first)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, f"{' '.join(argv)} exited {process.returncode} on SIGTERM: {stderr}"


def populate(graph: GraphClient) -> None:
    """The five key sets of the docs' CLI samples."""
    now = datetime.now(tz=UTC)
    signing = graph.create_keyset("TokenSigningKeyContainer").id
    graph.generate_key(signing, use="sig", kty="RSA", exp=int((now + timedelta(days=180)).timestamp()))
    encryption = graph.create_keyset("TokenEncryptionKeyContainer").id
    graph.generate_key(encryption, use="enc", kty="RSA", exp=int((now + timedelta(days=12)).timestamp()))
    facebook = graph.create_keyset("FacebookSecret").id
    graph.upload_secret(facebook, use="sig", value=FACEBOOK_SECRET, exp=int((now + timedelta(days=345)).timestamp()))
    saml = graph.create_keyset("SamlSigning").id
    disabled = graph.generate_key(saml, use="sig", kty="RSA")
    graph.set_key_status(saml, disabled.kid, "disabled")
    graph.create_keyset("RestApiKey")


@contextmanager
def docs_tenant(home: Path) -> Iterator[DocsTenant]:
    """The emulator the docs talk to, on a free port, with its data in ``home``'s default directory."""
    home.mkdir(parents=True, exist_ok=True)
    argv = [B2C_KEYS, "emulator", "--port", "0"]
    with running_emulator(argv, clean_environ(home), home) as line:
        tenant = DocsTenant(home, line)
        populate(tenant.graph())
        yield tenant
    shutil.rmtree(home / DEFAULT_DATA, ignore_errors=True)
