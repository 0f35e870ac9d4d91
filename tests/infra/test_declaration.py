"""The declaration check: pure, offline; one error that lists every problem with the command that fixes it."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from b2c_policy_keys.declaration import (
    DeclarationError,
    KeySetDeclaration,
    StackConfig,
    load_declaration_file,
    parse_declaration,
    validate_declaration,
)
from b2c_policy_keys.errors import ConfigurationError
from support.pki import pfx, self_signed, shared_rsa_key

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000  # 2027-01-15
PFX_PASSWORD = "declared-pfx-Pa55"


@pytest.fixture(scope="module")
def material() -> dict[str, str]:
    """Real certificates and PFX files around NOW: valid, expired, with the private key beside, AES-256, keyless."""
    key = shared_rsa_key()
    at = datetime.fromtimestamp(NOW, tz=UTC)
    valid = self_signed(key, subject="ok", not_before=at - timedelta(days=1), not_after=at + timedelta(days=400))
    expired = self_signed(key, subject="old", not_before=at - timedelta(days=90), not_after=at - timedelta(days=1))

    def pem(cert: Any) -> str:
        return str(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return {
        "pem": pem(valid),
        "expired_pem": pem(expired),
        "bundle_pem": key_pem + pem(valid),
        "key_body": "".join(key_pem.splitlines()[1:-1]),
        "pfx": b64(pfx(key, valid, PFX_PASSWORD)),
        "aes_pfx": b64(pfx(key, valid, PFX_PASSWORD, algorithm="aes256")),
        "keyless_pfx": b64(pfx(None, valid, PFX_PASSWORD)),
        "expired_pfx": b64(pfx(key, expired, PFX_PASSWORD)),
    }


def stack_config(values: Mapping[str, str], secret: set[str] | None = None, stack: str = "dev") -> StackConfig:
    """A stack whose project keys are given bare; every value is a secret unless ``secret`` says otherwise."""
    full = {k if ":" in k else f"b2c-policy-keys:{k}": v for k, v in values.items()}
    secrets = {f"b2c-policy-keys:{k}" for k in (values if secret is None else secret) if ":" not in k}
    return StackConfig("b2c-policy-keys", stack, full.get, secrets.__contains__)


def doc(*keysets: Mapping[str, Any]) -> dict[str, Any]:
    return {"keySets": list(keysets)}


STARTER = doc(
    {"name": "TokenSigningKeyContainer", "kind": "generated", "kty": "RSA", "use": "sig"},
    {"name": "TokenEncryptionKeyContainer", "kind": "generated", "kty": "RSA", "use": "enc"},
    {"name": "FacebookSecret", "kind": "secret", "use": "sig", "valueFrom": "facebookSecret"},
)


def problems_of(raw: object, config: StackConfig | None = None) -> tuple[str, ...]:
    with pytest.raises(DeclarationError) as caught:
        validate_declaration(raw, config or stack_config({"facebookSecret": "x"}), now=NOW)
    return caught.value.problems


def test_the_committed_declaration_is_the_ief_starter_set() -> None:
    raw = load_declaration_file(ROOT / "stacks" / "keysets.yaml")
    declaration = validate_declaration(raw, stack_config({"facebookSecret": "s3cret"}), now=NOW)
    assert [(k.keyset_id, k.kind, k.kty, k.use, k.value_from) for k in declaration.keysets] == [
        ("B2C_1A_TokenSigningKeyContainer", "generated", "RSA", "sig", None),
        ("B2C_1A_TokenEncryptionKeyContainer", "generated", "RSA", "enc", None),
        ("B2C_1A_FacebookSecret", "secret", None, "sig", "facebookSecret"),
    ]
    assert declaration.config_keys() == ("facebookSecret",)


def test_every_kind_parses_with_its_fields() -> None:
    declaration, problems = parse_declaration(
        doc(
            {"name": "Hmac", "kind": "generated", "kty": "oct", "use": "sig", "version": 2},
            {
                "name": "B2C_1A_Api",
                "kind": "secret",
                "use": "enc",
                "valueFrom": "apiSecret",
                "notBefore": "2027-01-01T00:00:00Z",
                "expiresAt": 1_900_000_000,
            },
            {"name": "Saml", "kind": "certificate", "certificateFrom": "samlCertificate"},
            {"name": "ClientCert", "kind": "pkcs12", "pfxFrom": "clientPfx", "passwordFrom": "clientPfxPassword"},
        ),
        now=NOW,
    )
    assert problems == []
    assert declaration.keysets[0] == KeySetDeclaration(name="Hmac", kind="generated", use="sig", kty="oct", version=2)
    assert declaration.keysets[1].not_before == 1_798_761_600
    assert declaration.keysets[1].expires_at == 1_900_000_000
    assert declaration.config_keys() == ("apiSecret", "samlCertificate", "clientPfx", "clientPfxPassword")


def test_unquoted_yaml_timestamps_are_read_as_moments() -> None:
    raw = yaml.safe_load(
        "keySets:\n  - {name: A, kind: generated, use: sig, notBefore: 2027-02-01T00:00:00Z, "
        "expiresAt: 2028-02-01T00:00:00Z}\n"
    )
    declaration, problems = parse_declaration(raw, now=NOW)
    assert problems == []
    assert declaration.keysets[0].expires_at == 1_832_976_000


def test_one_error_lists_every_problem() -> None:
    raw = doc(
        {"name": "Signing", "kind": "rsa", "use": "sig"},
        {"name": "Dup", "kind": "generated", "use": "sig"},
        {"name": "B2C_1A_Dup", "kind": "generated", "use": "sig"},
        {"name": "BadUse", "kind": "generated", "use": "signing", "kty": "EC"},
        {
            "name": "Dates",
            "kind": "secret",
            "use": "sig",
            "valueFrom": "datesSecret",
            "notBefore": 1_900_000_000,
            "expiresAt": 1_850_000_000,
        },
        {"name": "Old", "kind": "generated", "use": "enc", "expiresAt": "2020-01-01T00:00:00Z"},
        {"name": "bad name!", "kind": "generated", "use": "sig"},
        {"name": "Cert", "kind": "certificate", "certificateFrom": "samlCert", "use": "sig"},
        {"name": "Pfx", "kind": "pkcs12", "pfxFrom": "pfx"},
        {"name": "Typo", "kind": "secret", "use": "sig", "valueFrom": "typoSecret", "expires": "2030-01-01"},
        "not a mapping",
        {"kind": "generated", "use": "sig"},
    )
    config = stack_config({"datesSecret": "x", "typoSecret": "y", "samlCert": "pem", "pfx": "p"})
    with pytest.raises(DeclarationError) as caught:
        validate_declaration(raw, config, now=NOW, source="stacks/keysets.yaml")
    error = caught.value
    assert isinstance(error, ConfigurationError)
    text = str(error)
    expected = [
        "keySets[0] (Signing): unknown kind 'rsa': expected one of generated, secret, certificate, pkcs12",
        "keySets[2] (B2C_1A_Dup): duplicate key set: 'Dup' and 'B2C_1A_Dup' both name B2C_1A_Dup",
        "keySets[3] (BadUse): use 'signing' must be one of sig, enc",
        "keySets[3] (BadUse): kty 'EC' must be one of RSA, oct",
        "keySets[4] (Dates): notBefore must be earlier than expiresAt",
        "keySets[5] (Old): expiresAt is in the past",
        "keySets[6] (bad name!): name may contain letters, digits, '_' and '-' only",
        "keySets[7] (Cert): field(s) use not accepted for kind 'certificate'",
        "keySets[8] (Pfx): 'passwordFrom' is required for kind 'pkcs12'",
        "keySets[9] (Typo): field(s) expires not accepted for kind 'secret'",
        "keySets[10]: must be a mapping",
        "keySets[11]: 'name' is required",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    assert len(error.problems) == len(expected)
    head = "stack 'dev': the key set declaration (stacks/keysets.yaml) cannot be deployed, 12 problems:"
    assert text.startswith(head)


def test_names_differing_only_in_case_are_one_key_set_and_refused_with_both_names() -> None:
    """B08: Foo and foo are one key set to the service; two resources for it would fight over it."""
    raw = doc(
        {"name": "Foo", "kind": "generated", "use": "sig"},
        {"name": "foo", "kind": "generated", "use": "sig"},
        {"name": "b2c_1a_FOO", "kind": "generated", "use": "sig"},
    )
    assert problems_of(raw) == (
        "keySets[1] (foo): duplicate key set: 'Foo' and 'foo' both name B2C_1A_Foo "
        "(ids ignore case and the B2C_1A_ prefix): keep one entry",
        "keySets[2] (b2c_1a_FOO): duplicate key set: 'Foo' and 'b2c_1a_FOO' both name B2C_1A_Foo "
        "(ids ignore case and the B2C_1A_ prefix): keep one entry",
    )


@pytest.mark.parametrize(("spelling", "stored"), [("rsa", "RSA"), ("Rsa", "RSA"), ("OCT", "oct"), ("Oct", "oct")])
def test_kty_is_accepted_in_any_case_as_in_python(spelling: str, stored: str) -> None:
    declaration, problems = parse_declaration(doc({"name": "A", "kind": "generated", "use": "sig", "kty": spelling}))
    assert problems == []
    assert declaration.keysets[0].kty == stored


def test_a_secret_the_stack_has_not_set_names_the_exact_command() -> None:
    problems = problems_of(STARTER, stack_config({}, stack="prod"))
    assert problems == (
        "FacebookSecret: the secret value is not set for this stack (config key 'facebookSecret'): "
        "pulumi config set --secret facebookSecret <value> --stack prod",
    )


def test_every_missing_value_is_reported_once_per_config_key() -> None:
    raw = doc(
        {"name": "A", "kind": "secret", "use": "sig", "valueFrom": "shared"},
        {"name": "B", "kind": "secret", "use": "sig", "valueFrom": "shared"},
        {"name": "C", "kind": "certificate", "certificateFrom": "samlCertificate"},
        {"name": "D", "kind": "pkcs12", "pfxFrom": "pfx", "passwordFrom": "pfxPassword"},
    )
    problems = problems_of(raw, stack_config({}, stack="test"))
    assert problems == (
        "A: the secret value is not set for this stack (config key 'shared'): "
        "pulumi config set --secret shared <value> --stack test",
        "C: the certificate (PEM or base64 DER) is not set for this stack (config key 'samlCertificate'): "
        'pulumi config set samlCertificate -- "$(cat certificate.pem)" --stack test',
        "D: the PFX file (base64) is not set for this stack (config key 'pfx'): "
        'pulumi config set --secret pfx -- "$(base64 -w0 key.pfx)" --stack test',
        "D: the PFX password is not set for this stack (config key 'pfxPassword'): "
        "pulumi config set --secret pfxPassword <value> --stack test",
    )


def test_a_secret_stored_in_clear_is_refused_with_the_fix() -> None:
    problems = problems_of(STARTER, stack_config({"facebookSecret": "plain"}, secret=set()))
    assert problems == (
        "FacebookSecret: config key 'facebookSecret' is stored in clear text in the stack file; store it encrypted "
        "instead: pulumi config set --secret facebookSecret <value> --stack dev",
    )


def test_a_certificate_may_be_stored_in_clear(material: dict[str, str]) -> None:
    raw = doc({"name": "Saml", "kind": "certificate", "certificateFrom": "samlCertificate"})
    validate_declaration(raw, stack_config({"samlCertificate": material["pem"]}, secret=set()), now=NOW)


def test_template_placeholders_left_in_a_stack_are_problems() -> None:
    config = stack_config(
        {
            "b2c:tenantId": "REPLACE-WITH-PROD-TENANT-ID",
            "b2c:clientId": "b2c00000-0000-4000-8000-0000000000a1",
            "facebookSecret": "REPLACE-WITH-FACEBOOK-SECRET",
        },
        secret={"facebookSecret"},
        stack="prod",
    )
    problems = problems_of(STARTER, config)
    assert problems == (
        "b2c:tenantId still holds the template placeholder 'REPLACE-WITH-PROD-TENANT-ID': "
        "pulumi config set b2c:tenantId <value> --stack prod",
        "FacebookSecret: config key 'facebookSecret' still holds the template placeholder: "
        "pulumi config set --secret facebookSecret <value> --stack prod",
    )


def test_no_problem_text_ever_contains_a_secret_value() -> None:
    secret = "do-not-print-me-9f1c"
    raw = doc({"name": "A", "kind": "secret", "use": "sig", "valueFrom": "s", "version": [1]})
    with pytest.raises(DeclarationError) as caught:
        validate_declaration(raw, stack_config({"s": secret}, secret=set()), now=NOW)
    assert secret not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (None, "must be a mapping with a 'keySets' list"),
        ({"keysets": []}, "must be a mapping with a 'keySets' list"),
        ({"keySets": []}, "'keySets' must be a non-empty list"),
        ({"keySets": [{"name": "A", "kind": "generated", "use": "sig"}], "extra": 1}, "unknown top-level field(s)"),
        (doc({"name": "A", "kind": "secret", "use": "sig", "valueFrom": "b2c:clientSecret"}), "must name a config key"),
        (doc({"name": "A", "kind": "generated", "use": "sig", "expiresAt": "tomorrow"}), "is not an ISO-8601 date"),
        (doc({"name": "A", "kind": "generated", "use": "sig", "notBefore": "2027-01-01T00:00:00"}), "needs an offset"),
        (doc({"name": "A", "kind": "generated", "use": "sig", "version": True}), "version must be a string"),
        (doc({"name": "A", "kind": "generated"}), "'use' is required for kind 'generated'"),
        (doc({"name": "A", "use": "sig"}), "missing: expected one of"),
    ],
)
def test_malformed_declarations(raw: object, fragment: str) -> None:
    assert any(fragment in p for p in problems_of(raw)), problems_of(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-31T00:00:00", "expiresAt needs an offset: add Z for UTC, e.g. 2027-01-31T00:00:00Z"),
        ("[2030]", "expiresAt is a list, not a date: write an ISO-8601 date with an offset"),
        ("true", "expiresAt is true/false, not a date: write an ISO-8601 date with an offset"),
        ("{at: 1}", "expiresAt is a mapping, not a date"),
    ],
)
def test_date_problems_give_yaml_advice_to_yaml_authors(text: str, expected: str) -> None:
    """Issue 13: never datetime(..., tzinfo=...) advice for a YAML file."""
    raw = yaml.safe_load(f"keySets:\n  - {{name: A, kind: generated, use: sig, expiresAt: {text}}}\n")
    (problem,) = problems_of(raw)
    assert problem.startswith(f"keySets[0] (A): {expected}")
    assert "datetime(" not in problem and "tzinfo" not in problem


def test_a_yaml_date_without_time_is_refused() -> None:
    raw = yaml.safe_load("keySets:\n  - {name: A, kind: generated, use: sig, expiresAt: 2030-01-31}\n")
    assert problems_of(raw) == ("keySets[0] (A): expiresAt needs a time and an offset, e.g. 2027-01-31T00:00:00Z",)


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "keysets.yaml"
    path.write_text("keySets:\n  - name: A\n    kind: [generated\n", encoding="utf-8")
    with pytest.raises(DeclarationError, match=r"keysets.yaml is not valid YAML at line \d"):
        load_declaration_file(path)


# --- issue 13: the preview catches offline what it can: provider settings, certificates, PFX files ------------------

CERT_AND_PFX = doc(
    {"name": "Saml", "kind": "certificate", "certificateFrom": "samlCertificate"},
    {"name": "Client", "kind": "pkcs12", "pfxFrom": "clientPfx", "passwordFrom": "clientPfxPassword"},
)


def _material_problems(certificate: str, pfx_value: str, password: str = PFX_PASSWORD) -> tuple[str, ...]:
    values = {"samlCertificate": certificate, "clientPfx": pfx_value, "clientPfxPassword": password}
    config = stack_config(values, secret={"clientPfx", "clientPfxPassword"})
    try:
        validate_declaration(CERT_AND_PFX, config, now=NOW)
    except DeclarationError as error:
        return error.problems
    return ()


def test_valid_certificates_and_pfx_files_pass(material: dict[str, str]) -> None:
    assert _material_problems(material["pem"], material["pfx"]) == ()


def test_every_certificate_and_pfx_problem_is_listed_in_the_one_message(material: dict[str, str]) -> None:
    problems = _material_problems(material["expired_pem"], material["pfx"], password="wrong-password-1")
    assert problems == (
        "Saml: config key 'samlCertificate': the certificate expired on 2027-01-14T08:00:00Z: set a renewed one: "
        'pulumi config set samlCertificate -- "$(cat certificate.pem)" --stack dev',
        "Client: the password in config key 'clientPfxPassword' does not open the PFX of Client: config key "
        "'clientPfx': pulumi config set --secret clientPfxPassword <value> --stack dev",
    )
    assert "wrong-password-1" not in "\n".join(problems)


@pytest.mark.parametrize(
    ("which", "fragment"),
    [
        ("aes_pfx", "encrypted with AES-256, which B2C rejects"),
        ("keyless_pfx", "the PFX holds no private key"),
        ("expired_pfx", "the certificate expired on 2027-01-14"),
    ],
)
def test_each_pfx_problem_names_the_key_set_and_config_key(material: dict[str, str], which: str, fragment: str) -> None:
    (problem,) = _material_problems(material["pem"], material[which])
    assert problem.startswith("Client: config key 'clientPfx'") and fragment in problem
    assert PFX_PASSWORD not in problem


def test_a_certificate_holding_its_private_key_is_refused_without_echoing_it(material: dict[str, str]) -> None:
    (problem,) = _material_problems(material["bundle_pem"], material["pfx"])
    assert problem.startswith("Saml: config key 'samlCertificate' holds a private key too")
    assert material["key_body"][:40] not in problem


def test_missing_provider_settings_are_found_offline_with_everything_else() -> None:
    """No b2c:tenantId and no credential, in the stack or the environment: the preview lists both, with the rest."""
    raw = doc({"name": "Dup", "kind": "generated", "use": "sig"}, {"name": "dup", "kind": "generated", "use": "sig"})
    with pytest.raises(DeclarationError) as caught:
        validate_declaration(raw, stack_config({}), now=NOW, env={})
    problems = caught.value.problems
    assert any(p.startswith("b2c:tenantId is missing: `pulumi config set b2c:tenantId <tenant-id>`") for p in problems)
    assert any(p.startswith("no credential is configured: set one of") for p in problems)
    assert any("duplicate key set" in p for p in problems)


def test_settings_from_the_environment_count_and_placeholders_are_reported_once() -> None:
    env = {"ARM_TENANT_ID": "contoso.onmicrosoft.com", "ARM_CLIENT_ID": "app-id", "ARM_CLIENT_SECRET": "s"}
    raw = doc({"name": "A", "kind": "generated", "use": "sig"})
    assert validate_declaration(raw, stack_config({}), now=NOW, env=env).keysets[0].name == "A"
    config = stack_config({"b2c:tenantId": "REPLACE-WITH-PROD-TENANT-ID"}, stack="prod")
    with pytest.raises(DeclarationError) as caught:
        validate_declaration(raw, config, now=NOW, env={"ARM_CLIENT_ID": "app-id", "ARM_CLIENT_SECRET": "s"})
    assert caught.value.problems == (
        "b2c:tenantId still holds the template placeholder 'REPLACE-WITH-PROD-TENANT-ID': "
        "pulumi config set b2c:tenantId <value> --stack prod",
    )


def test_an_up_without_a_preview_fails_before_any_write(
    material: dict[str, str], emulator: Any, tmp_path: Path
) -> None:
    """The program's check runs in `up` too: no credential and an expired certificate stop it before any resource."""
    from b2c_policy_keys.testing.engine import DeploymentFailed, Engine
    from b2c_policy_keys.testing.fixtures import CREDENTIAL_PREFIXES
    from support.host import emulator_config, graph_requests
    from support.programs import root_program

    path = tmp_path / "keysets.yaml"
    path.write_text(yaml.safe_dump(CERT_AND_PFX), encoding="utf-8")
    program = (
        "from pathlib import Path\n"
        "from b2c_policy_keys.program import deploy, load_checked_declaration\n"
        f"deploy(load_checked_declaration(Path({str(path)!r})))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    engine = Engine(root_program(tmp_path / "infra", program, name="b2c-policy-keys"), "dev", environ=environ)
    for key, value in emulator_config(emulator).items():
        if key != "b2c:clientSecret":
            engine.set_config(key, value)
    now = datetime.now(tz=UTC)
    expired = self_signed(
        shared_rsa_key(), subject="old", not_before=now - timedelta(days=60), not_after=now - timedelta(days=1)
    )
    engine.set_config("samlCertificate", expired.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    engine.set_config("clientPfx", material["pfx"], secret=True)
    engine.set_config("clientPfxPassword", PFX_PASSWORD, secret=True)
    with pytest.raises(DeploymentFailed) as failed:
        engine.up(skip_preview=True)
    text = failed.value.result.text
    assert "no credential is configured" in text
    assert "Saml: config key 'samlCertificate': the certificate expired on" in text
    assert [method for method, _ in failed.value.result.calls] == ["Configure"]
    assert graph_requests(emulator) == []
