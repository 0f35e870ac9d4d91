"""``b2c-keys conformance``: a fixed script of Graph calls that records how a tenant (or the emulator) answers.

The record keeps the service's answers as shapes and templates (status, error code, message template, the headers
that matter, the body's keys and types), never ids, tenant names, tokens or secrets, so a user can contribute the
record of a real tenant and the emulator can be held to it (``conformance diff``, ``conformance baseline``).
"""

from __future__ import annotations

from b2c_policy_keys.conformance.record import FORMAT, Entry, Record
from b2c_policy_keys.conformance.scope import Scope, ScopeError, validate_prefix

__all__ = ["FORMAT", "Entry", "Record", "Scope", "ScopeError", "validate_prefix"]
