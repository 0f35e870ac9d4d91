"""How a stack or a shell points the provider at an emulator: its config and its environment.

Kept apart from ``protocol`` (grpc, pulumi) because the pytest plugin needs it at load time and must stay cheap.
"""

from __future__ import annotations

import os
from typing import Any

#: Variables that would let the provider find credentials without Configure, or reach a real tenant: every driver
#: leaves them out, so a test proves the path it means to.
CREDENTIAL_ENV_PREFIXES = ("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_")


def emulator_config(emu: Any, *, secret: str | None = None) -> dict[str, str]:
    """The stack config a user would set to point the provider at an emulator (``pulumi config set b2c:...``)."""
    return {
        "b2c:tenantId": emu.tenant_id,
        "b2c:clientId": emu.client_id,
        "b2c:clientSecret": secret if secret is not None else emu.client_secret,
        "b2c:graphUrl": emu.graph_url,
        "b2c:authorityHost": emu.authority_host,
        "b2c:caBundle": str(emu.ca_bundle),
    }


def emulator_environ(emu: Any) -> dict[str, str]:
    """This process's environment without credentials, plus what ``bin/quickstart --env`` exports for ``emu``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_ENV_PREFIXES)}
    environ.update(
        ARM_TENANT_ID=emu.tenant_id,
        ARM_CLIENT_ID=emu.client_id,
        ARM_CLIENT_SECRET=emu.client_secret,
        B2C_GRAPH_URL=emu.graph_url,
        B2C_AUTHORITY_HOST=emu.authority_host,
        B2C_CA_BUNDLE=str(emu.ca_bundle),
    )
    return environ
