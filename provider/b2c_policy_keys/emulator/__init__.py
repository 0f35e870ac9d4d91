"""A local Microsoft Graph emulator for Azure AD B2C policy keys: HTTPS, real OAuth2, faithful Graph semantics."""

from __future__ import annotations

from b2c_policy_keys.emulator.clients import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    MANAGED_IDENTITY_CLIENT_ID,
    READONLY_CLIENT_ID,
    READONLY_CLIENT_SECRET,
)
from b2c_policy_keys.emulator.instance import Emulator

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TENANT_ID",
    "MANAGED_IDENTITY_CLIENT_ID",
    "READONLY_CLIENT_ID",
    "READONLY_CLIENT_SECRET",
    "Emulator",
]
