"""Pulumi's passphrase secrets format, re-implemented for tests (no Pulumi CLI can be installed here).

What the Go CLI does (``pkg/secrets/passphrase``): the key is PBKDF2-HMAC-SHA256 of the passphrase with an 8-byte
salt, 1,000,000 rounds, 32 bytes; a value is AES-256-GCM with a 12-byte nonce, written ``v1:<b64 nonce>:<b64
ciphertext+tag>``; a stack file's ``encryptionsalt`` is ``v1:<b64 salt>:`` followed by the encryption of the text
``pulumi`` (how the CLI checks a passphrase). Config values are encrypted as the raw string. The tests use it to
read the committed ``local`` stack file exactly as ``pulumi`` would, which also proves the file matches the
documented local passphrase.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ROUNDS = 1_000_000
_CHECK = "pulumi"


class Crypter:
    def __init__(self, passphrase: str, encryptionsalt: str | None = None) -> None:
        if encryptionsalt is None:
            self.salt = os.urandom(8)
        else:
            version, salt, _ = encryptionsalt.split(":", 2)
            if version != "v1":
                raise ValueError("unknown encryptionsalt version")
            self.salt = base64.b64decode(salt)
        self._key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), self.salt, _ROUNDS, 32)
        if encryptionsalt is not None:
            try:
                check = self.decrypt(encryptionsalt.split(":", 2)[2])
            except InvalidTag:
                check = None
            if check != _CHECK:
                raise ValueError("incorrect passphrase")

    @property
    def encryptionsalt(self) -> str:
        return f"v1:{base64.b64encode(self.salt).decode()}:{self.encrypt(_CHECK)}"

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key).encrypt(nonce, plaintext.encode(), None)
        return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"

    def decrypt(self, ciphertext: str) -> str:
        version, nonce, sealed = ciphertext.split(":")
        if version != "v1":
            raise ValueError("unknown ciphertext version")
        return AESGCM(self._key).decrypt(base64.b64decode(nonce), base64.b64decode(sealed), None).decode()


def read_stack_file(path: Path, passphrase: str | None = None) -> tuple[dict[str, str], list[str]]:
    """A stack file's config as the engine hands it to a program: plain strings, plus the list of secret keys."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    crypter: Crypter | None = None
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            if passphrase is None:
                raise ValueError(f"{path.name}: {key} is encrypted and no passphrase was given")
            crypter = crypter or Crypter(passphrase, document["encryptionsalt"])
            config[key] = crypter.decrypt(value["secure"])
            secret_keys.append(key)
        else:
            config[key] = value if isinstance(value, str) else yaml.safe_dump(value).strip()
    return config, secret_keys
