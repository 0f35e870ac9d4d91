"""Who is calling: the emulator's token check hands this to the Graph semantics, which enforce the roles."""

from __future__ import annotations

from dataclasses import dataclass

READ_ROLE = "TrustFrameworkKeySet.Read.All"
READ_WRITE_ROLE = "TrustFrameworkKeySet.ReadWrite.All"


@dataclass(frozen=True)
class Principal:
    """The application a valid access token was issued to, with its application roles."""

    client_id: str
    roles: frozenset[str]

    @property
    def can_read(self) -> bool:
        return bool(self.roles & {READ_ROLE, READ_WRITE_ROLE})

    @property
    def can_write(self) -> bool:
        return READ_WRITE_ROLE in self.roles
