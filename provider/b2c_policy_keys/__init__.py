"""Azure AD B2C policy keys (Graph ``trustFramework/keySets``) as Pulumi resources.

Public names are imported lazily so that the provider host, which unpickles one provider class, and the
emulator, which needs no Pulumi at all, pay only for what they use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from b2c_policy_keys._version import __version__

# public name -> module that defines it. Provider classes never move: pickled state names them by module.
_EXPORTS: dict[str, str] = {
    "KeySet": "b2c_policy_keys.resources.keyset",
    "KeySetArgs": "b2c_policy_keys.resources.keyset",
    "KeySetProvider": "b2c_policy_keys.resources.keyset",
    "SecretKey": "b2c_policy_keys.resources.secret_key",
    "SecretKeyArgs": "b2c_policy_keys.resources.secret_key",
    "SecretKeyProvider": "b2c_policy_keys.resources.secret_key",
    "GeneratedKey": "b2c_policy_keys.resources.generated_key",
    "GeneratedKeyProvider": "b2c_policy_keys.resources.generated_key",
    "CertificateKey": "b2c_policy_keys.resources.certificate_key",
    "CertificateKeyProvider": "b2c_policy_keys.resources.certificate_key",
    "Pkcs12Key": "b2c_policy_keys.resources.pkcs12_key",
    "Pkcs12KeyProvider": "b2c_policy_keys.resources.pkcs12_key",
    "PolicyKey": "b2c_policy_keys.resources.policy_key",
    "get_keyset": "b2c_policy_keys.lookups",
    "get_active_key": "b2c_policy_keys.lookups",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'b2c_policy_keys' has no attribute {name!r}")
    return getattr(import_module(module), name)
