"""The resolver: precedence, every problem in one message with its fix, no network, no secret in repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2c_policy_keys.errors import ConfigurationError
from b2c_policy_keys.graph import Settings, resolve_settings
from b2c_policy_keys.graph.settings import CLOUDS, ENV_FALLBACKS

TENANT = "b2c00000-0000-4000-8000-000000000001"
CLIENT = "b2c00000-0000-4000-8000-0000000000a1"


def config(values: dict[str, str]):  # type: ignore[no-untyped-def]
    return values.get


def test_stack_config_with_a_client_secret() -> None:
    settings = resolve_settings(
        config({"b2c:tenantId": TENANT, "b2c:clientId": CLIENT, "b2c:clientSecret": "s3cret-value"}), env={}
    )
    assert settings.credential_kind == "secret"
    assert settings.tenant_id == TENANT
    assert settings.graph_url == "https://graph.microsoft.com"
    assert settings.authority == f"https://login.microsoftonline.com/{TENANT}"
    assert settings.scope == "https://graph.microsoft.com/.default"
    assert not settings.custom_authority


def test_environment_fallbacks_when_the_stack_config_is_empty() -> None:
    env = {"ARM_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT, "AZURE_CLIENT_SECRET": "from-env"}
    settings = resolve_settings(None, env=env)
    assert (settings.client_id, settings.client_secret) == (CLIENT, "from-env")


def test_stack_config_wins_over_the_environment_value_by_value() -> None:
    env = {"ARM_TENANT_ID": "other-tenant", "ARM_CLIENT_ID": "other", "ARM_CLIENT_SECRET": "env-secret"}
    settings = resolve_settings(config({"b2c:tenantId": TENANT, "b2c:clientSecret": "stack-secret"}), env=env)
    assert settings.tenant_id == TENANT
    assert settings.client_id == "other"  # not on the stack: the environment fills it in
    assert settings.client_secret == "stack-secret"


def test_a_stack_credential_hides_environment_credentials(tmp_path: Path) -> None:
    cert = tmp_path / "app.pem"
    cert.write_text("placeholder")
    env = {"ARM_CLIENT_SECRET": "left-over-from-terraform"}
    settings = resolve_settings(
        config({"b2c:tenantId": TENANT, "b2c:clientId": CLIENT, "b2c:clientCertificatePath": str(cert)}), env=env
    )
    assert settings.credential_kind == "certificate"
    assert settings.client_secret is None


def test_repr_never_shows_secrets() -> None:
    settings = resolve_settings(
        config({"b2c:tenantId": TENANT, "b2c:clientId": CLIENT, "b2c:clientSecret": "very-secret-value"}),
        env={},
    )
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in str(settings)


def test_settings_are_hashable_and_equal_by_value() -> None:
    values = {"b2c:tenantId": TENANT, "b2c:clientId": CLIENT, "b2c:clientSecret": "x-secret"}
    a = resolve_settings(config(values), env={})
    b = resolve_settings(config(dict(values)), env={})
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    c = resolve_settings(config({**values, "b2c:clientSecret": "other-secret"}), env={})
    assert c != a


def test_every_problem_in_one_message_with_its_fix_command() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings(config({"b2c:environment": "mars", "b2c:requestTimeout": "soon"}), env={})
    message = str(caught.value)
    assert "pulumi config set b2c:tenantId <tenant-id>" in message
    assert "ARM_TENANT_ID" in message
    assert "pulumi config set --secret b2c:clientSecret <secret>" in message
    assert "b2c:environment must be one of public, usgovernment, china" in message
    assert "b2c:requestTimeout" in message


def test_client_id_is_required_except_for_managed_identity() -> None:
    with pytest.raises(ConfigurationError, match=r"pulumi config set b2c:clientId <application-id>"):
        resolve_settings(config({"b2c:tenantId": TENANT, "b2c:clientSecret": "s3cret"}), env={})
    settings = resolve_settings(config({"b2c:tenantId": TENANT, "b2c:useMsi": "true"}), env={})
    assert settings.credential_kind == "msi" and settings.client_id is None


def test_two_credentials_on_the_stack_are_contradictory(tmp_path: Path) -> None:
    cert = tmp_path / "app.pfx"
    cert.write_bytes(b"\x30\x82")
    with pytest.raises(ConfigurationError, match="more than one credential") as caught:
        resolve_settings(
            config(
                {
                    "b2c:tenantId": TENANT,
                    "b2c:clientId": CLIENT,
                    "b2c:clientSecret": "the-secret-value",
                    "b2c:clientCertificatePath": str(cert),
                }
            ),
            env={},
        )
    assert "the-secret-value" not in str(caught.value)
    assert "pulumi config rm b2c:clientCertificatePath" in str(caught.value)


def test_msi_and_oidc_together_are_contradictory() -> None:
    # Both came from the environment: the message names the variables and the fix unsets one, not a config key.
    with pytest.raises(ConfigurationError, match=r"ARM_USE_OIDC=true, ARM_USE_MSI=true.*unset ARM_USE_MSI"):
        resolve_settings(None, env={"ARM_TENANT_ID": TENANT, "ARM_USE_OIDC": "true", "ARM_USE_MSI": "true"})
    with pytest.raises(ConfigurationError, match=r"b2c:useOidc=true, b2c:useMsi=true.*pulumi config rm b2c:useMsi"):
        resolve_settings(config({"b2c:tenantId": TENANT, "b2c:useOidc": "true", "b2c:useMsi": "true"}), env={})


def test_flags_arrive_as_strings_from_pulumi_config() -> None:
    settings = resolve_settings(config({"b2c:tenantId": TENANT, "b2c:useMsi": "True", "b2c:useOidc": "false"}), env={})
    assert settings.credential_kind == "msi"
    with pytest.raises(ConfigurationError, match=r"b2c:useMsi must be true or false, got 'maybe'"):
        resolve_settings(config({"b2c:tenantId": TENANT, "b2c:useMsi": "maybe"}), env={})


def test_oidc_needs_a_readable_token_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="b2c:oidcTokenFilePath"):
        resolve_settings(None, env={"ARM_TENANT_ID": TENANT, "ARM_CLIENT_ID": CLIENT, "ARM_USE_OIDC": "true"})
    token = tmp_path / "token"
    token.write_text("eyJ...")
    settings = resolve_settings(
        None,
        env={
            "ARM_TENANT_ID": TENANT,
            "ARM_CLIENT_ID": CLIENT,
            "ARM_USE_OIDC": "1",
            "AZURE_FEDERATED_TOKEN_FILE": str(token),
        },
    )
    assert settings.credential_kind == "oidc" and settings.oidc_token_file_path == str(token)


def test_missing_files_are_reported_before_any_network_call(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings(
            config(
                {
                    "b2c:tenantId": TENANT,
                    "b2c:clientId": CLIENT,
                    "b2c:clientCertificatePath": missing,
                    "b2c:caBundle": missing,
                }
            ),
            env={},
        )
    assert "b2c:clientCertificatePath" in str(caught.value)
    assert "b2c:caBundle" in str(caught.value)


def test_a_password_without_a_certificate_is_contradictory() -> None:
    with pytest.raises(ConfigurationError, match="clientCertificatePassword is set but no certificate"):
        resolve_settings(
            config(
                {
                    "b2c:tenantId": TENANT,
                    "b2c:clientId": CLIENT,
                    "b2c:clientSecret": "s3cret-x",
                    "b2c:clientCertificatePassword": "pw-value",
                }
            ),
            env={},
        )


@pytest.mark.parametrize("environment", sorted(CLOUDS))
def test_national_clouds_pick_graph_authority_and_scope(environment: str) -> None:
    settings = resolve_settings(
        config({"b2c:tenantId": TENANT, "b2c:useMsi": "true", "b2c:environment": environment.upper()}), env={}
    )
    cloud = CLOUDS[environment]
    assert settings.graph_url == cloud.graph_url
    assert settings.authority_host == cloud.authority_host
    assert settings.scope == f"{cloud.graph_url}/.default"
    assert not settings.custom_authority


def test_china_endpoints() -> None:
    settings = resolve_settings(None, env={"ARM_TENANT_ID": TENANT, "ARM_USE_MSI": "true", "ARM_ENVIRONMENT": "china"})
    assert settings.graph_url == "https://microsoftgraph.chinacloudapi.cn"
    assert settings.authority_host == "https://login.chinacloudapi.cn"


def test_emulator_overrides_from_the_environment(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----")
    env = {
        "ARM_TENANT_ID": TENANT,
        "ARM_CLIENT_ID": CLIENT,
        "ARM_CLIENT_SECRET": "emulator-readwrite-secret",
        "B2C_GRAPH_URL": "https://127.0.0.1:8443/beta/",
        "B2C_AUTHORITY_HOST": "https://127.0.0.1:8443/",
        "B2C_CA_BUNDLE": str(ca),
        "B2C_REQUEST_TIMEOUT": "5",
        "B2C_RETRY_TIMEOUT": "2.5",
    }
    settings = resolve_settings(None, env=env)
    assert settings.graph_url == "https://127.0.0.1:8443"
    assert settings.authority_host == "https://127.0.0.1:8443"
    assert settings.custom_authority
    assert settings.ca_bundle == str(ca)
    assert (settings.request_timeout, settings.retry_timeout) == (5.0, 2.5)
    assert settings.scope == "https://graph.microsoft.com/.default"


def test_plain_http_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"b2c:graphUrl must be an https:// URL"):
        resolve_settings(config({"b2c:tenantId": TENANT, "b2c:useMsi": "true", "b2c:graphUrl": "http://x"}), env={})


def test_every_config_key_has_an_environment_fallback_documented() -> None:
    readme = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    section = readme.split("<!-- section: configuration -->")[1].split("<!-- /section: configuration -->")[0]
    for key, names in ENV_FALLBACKS.items():
        assert f"`{key}`" in section, key
        for name in names:
            assert f"`{name}`" in section, name


def test_settings_is_frozen() -> None:
    settings = Settings(tenant_id=TENANT, credential_kind="msi")
    with pytest.raises(AttributeError):
        settings.tenant_id = "x"  # type: ignore[misc]


def test_a_stack_flag_set_to_false_does_not_hide_environment_credentials() -> None:
    settings = resolve_settings(
        config({"b2c:tenantId": TENANT, "b2c:useMsi": "False"}),
        env={"ARM_CLIENT_ID": CLIENT, "ARM_CLIENT_SECRET": "env-secret"},
    )
    assert settings.credential_kind == "secret" and settings.client_secret == "env-secret"
