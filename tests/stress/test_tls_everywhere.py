"""TLS is verified everywhere: a wrong CA fails with a clear message for the token request, for Graph calls made by
the provider host, and for the CLI; and no code path in the package can turn verification off."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys import KeySetProvider
from b2c_policy_keys.emulator import Emulator
from support.host import SECRET_CONFIG_KEYS, ProviderError, ProviderHost, emulator_config

from .conftest import is_clear_error, last_line

ROOT = Path(__file__).resolve().parents[2]
B2C_KEYS = str(Path(sys.executable).with_name("b2c-keys"))

#: Every way Python code commonly turns TLS verification off (or hides that it is off).
DISABLING = {
    "verify=False": re.compile(r"\bverify\s*=\s*False\b"),
    "ssl.CERT_NONE": re.compile(r"\bCERT_NONE\b"),
    "ssl.CERT_OPTIONAL": re.compile(r"\bCERT_OPTIONAL\b"),
    "_create_unverified_context": re.compile(r"_create_unverified_context"),
    "check_hostname = False": re.compile(r"check_hostname\s*=\s*False"),
    "urllib3.disable_warnings": re.compile(r"disable_warnings\s*\("),
    "InsecureRequestWarning": re.compile(r"InsecureRequestWarning"),
    "PYTHONHTTPSVERIFY": re.compile(r"PYTHONHTTPSVERIFY"),
    "curl -k/--insecure": re.compile(r"\bcurl\b[^\n]*\s(-[A-Za-z]*k[A-Za-z]*|--insecure)\b"),
}


def _sources() -> list[Path]:
    """The package and the scripts a user runs (bin/quickstart, bin/test)."""
    files = [p for p in (ROOT / "provider").rglob("*.py") if ".egg-info" not in p.parts]
    files += [p for p in (ROOT / "bin").iterdir() if p.is_file()]
    return files


def test_the_patterns_catch_what_they_look_for() -> None:
    samples = [
        "requests.get(url, verify=False)",
        "ctx.verify_mode = ssl.CERT_NONE",
        "ssl._create_unverified_context()",
        "context.check_hostname = False",
        "urllib3.disable_warnings(InsecureRequestWarning)",
        "curl -sk https://x",
    ]
    for sample in samples:
        assert any(p.search(sample) for p in DISABLING.values()), sample
    assert DISABLING["curl -k/--insecure"].search("curl --insecure https://x")
    assert not DISABLING["curl -k/--insecure"].search('curl -fsS --cacert "$CA" https://x')


def test_no_code_path_disables_tls_verification() -> None:
    sources = _sources()
    assert len(sources) > 40 and any(p.name == "tls.py" for p in sources)
    found = [
        f"{path.relative_to(ROOT)}:{number}: {name}"
        for path in sources
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        for name, pattern in DISABLING.items()
        if pattern.search(line)
    ]
    assert found == []


def test_the_emulator_server_context_does_not_weaken_clients(emulator: Emulator) -> None:
    """The emulator's only TLS context is a server's: it asks clients for nothing and does not touch any default."""
    import ssl

    from b2c_policy_keys.emulator.tls import ensure_tls_files

    assert ssl.create_default_context().verify_mode == ssl.CERT_REQUIRED
    assert ssl.create_default_context().check_hostname is True
    context = ensure_tls_files(Path(emulator.ca_bundle).parent).server_context()
    assert context.protocol == ssl.PROTOCOL_TLS_SERVER
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def _wrong_ca_host(config: dict[str, str]) -> ProviderError:
    with ProviderHost() as host:
        host.configure(config, secrets=SECRET_CONFIG_KEYS)
        with pytest.raises(ProviderError) as failed:
            host.up(KeySetProvider(), "set", {"name": "Tls"})
    return failed.value


def _assert_clear_tls_failure(text: str, host: str, setting: str = "b2c:caBundle") -> None:
    assert "TLS verification of" in text and host in text
    assert "certificate verify failed" in text
    assert setting in text


def test_a_wrong_ca_fails_clearly_on_the_token_request(emulator: Emulator, emulator_factory: Any) -> None:
    other = emulator_factory()  # its CA signed nothing the first emulator serves
    failure = _wrong_ca_host({**emulator_config(emulator), "b2c:caBundle": other.ca_bundle})
    assert is_clear_error(failure.details), last_line(failure.details)
    _assert_clear_tls_failure(last_line(failure.details), emulator.authority_host.removeprefix("https://"))
    assert emulator.client_secret not in failure.details


def test_a_wrong_ca_fails_clearly_on_graph_calls(emulator: Emulator, emulator_factory: Any, tmp_path: Path) -> None:
    """The token comes from a trusted authority; the Graph URL serves a certificate from an untrusted CA."""
    untrusted = emulator_factory()
    config = {**emulator_config(emulator), "b2c:graphUrl": untrusted.graph_url}
    failure = _wrong_ca_host(config)
    assert is_clear_error(failure.details), last_line(failure.details)
    _assert_clear_tls_failure(last_line(failure.details), untrusted.graph_url.removeprefix("https://"))
    token_calls = [r for r in emulator.requests_log() if r["path"].endswith("/oauth2/v2.0/token")]
    assert token_calls and untrusted.requests_log() == [], "the Graph request must fail in the TLS handshake"


def test_a_wrong_ca_fails_clearly_in_the_cli(emulator: Emulator, emulator_factory: Any) -> None:
    other = emulator_factory()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_"))}
    env.update(
        ARM_TENANT_ID=emulator.tenant_id,
        ARM_CLIENT_ID=emulator.client_id,
        ARM_CLIENT_SECRET=emulator.client_secret,
        B2C_GRAPH_URL=emulator.graph_url,
        B2C_AUTHORITY_HOST=emulator.authority_host,
        B2C_CA_BUNDLE=str(other.ca_bundle),
    )
    result = subprocess.run(
        [B2C_KEYS, "list"], capture_output=True, text=True, env=env, timeout=60, check=False
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    # The CLI names the variable the CA bundle came from, not a Pulumi config key its user never set.
    _assert_clear_tls_failure(result.stderr, emulator.authority_host.removeprefix("https://"), "B2C_CA_BUNDLE")
    assert emulator.client_secret not in result.stderr + result.stdout
