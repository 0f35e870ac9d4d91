"""Pulumi's passphrase secrets format, so a stack file's secrets can be read without the Pulumi CLI.

What the Go CLI does (``pkg/secrets/passphrase``): the key is PBKDF2-HMAC-SHA256 of the passphrase with an 8-byte
salt, 1,000,000 rounds, 32 bytes; a value is AES-256-GCM with a 12-byte nonce, written ``v1:<b64 nonce>:<b64
ciphertext+tag>``; a stack file's ``encryptionsalt`` is ``v1:<b64 salt>:`` followed by the encryption of the text
``pulumi`` (how the CLI checks a passphrase). Config values are encrypted as the raw string.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ROUNDS = 1_000_000
_CHECK = "pulumi"


class PassphraseError(ValueError):
    """A wrong passphrase or a value this format cannot open; never carries the passphrase or a plaintext."""


class Crypter:
    """Encrypts and decrypts config values with one stack's passphrase (and its ``encryptionsalt``)."""

    def __init__(self, passphrase: str, encryptionsalt: str | None = None) -> None:
        if encryptionsalt is None:
            self.salt = os.urandom(8)
        else:
            version, salt, _ = _split(encryptionsalt, 3, "encryptionsalt")
            if version != "v1":
                raise PassphraseError("unknown encryptionsalt version")
            self.salt = base64.b64decode(salt)
        self._key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), self.salt, _ROUNDS, 32)
        if encryptionsalt is not None:
            try:
                check: str | None = self.decrypt(encryptionsalt.split(":", 2)[2])
            except PassphraseError:
                check = None
            if check != _CHECK:
                raise PassphraseError("incorrect passphrase")

    @property
    def encryptionsalt(self) -> str:
        """The stack file's ``encryptionsalt`` for this passphrase and salt."""
        return f"v1:{base64.b64encode(self.salt).decode()}:{self.encrypt(_CHECK)}"

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key).encrypt(nonce, plaintext.encode(), None)
        return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"

    def decrypt(self, ciphertext: str) -> str:
        version, nonce, sealed = _split(ciphertext, 3, "ciphertext")
        if version != "v1":
            raise PassphraseError("unknown ciphertext version")
        try:
            return AESGCM(self._key).decrypt(base64.b64decode(nonce), base64.b64decode(sealed), None).decode()
        except InvalidTag:
            raise PassphraseError("incorrect passphrase") from None


def _split(text: str, parts: int, what: str) -> list[str]:
    fields = text.split(":", parts - 1)
    if len(fields) != parts:
        raise PassphraseError(f"malformed {what} (expected v1:<nonce>:<data>)")
    return fields
