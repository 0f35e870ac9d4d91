"""The one place every ``b2c-keys`` failure becomes one line: ``b2c-keys: <kind>: <cause>: <fix>``, exit 2.

Commands raise the package's typed errors, or ``CliError`` for their own; ``report`` names the kind, turns the
provider's ``b2c:`` config keys into what this user set (a flag or an environment variable, see ``_target``), and
scrubs every secret the command knows of, in every spelling. A traceback only with ``--debug``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from b2c_policy_keys.errors import (
    AuthenticationError,
    B2CKeysError,
    ConfigurationError,
    GraphError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
    TransportError,
)
from b2c_policy_keys.graph.scrub import scrub
from b2c_policy_keys.graph.settings import SettingsError

PROG = "b2c-keys"


class CliError(B2CKeysError):
    """A failure of the command line itself, with the kind it is reported as and the fix."""

    def __init__(self, kind: str, cause: str, fix: str) -> None:
        self.kind, self.cause, self.fix = kind, cause, fix
        super().__init__(f"{cause}: {fix}")


#: (class, kind), most specific first.
_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (ConfigurationError, "configuration"),
    (AuthenticationError, "authentication"),
    (PermissionDeniedError, "permission"),
    (NotFoundError, "not found"),
    (ThrottledError, "service busy"),
    (GraphError, "service"),
    (TransportError, "connection"),
)

_CONFIG_KEY = re.compile(r"b2c:(\w+)(?: \((?:or )?[A-Z][A-Z0-9_]*\))?")

#: Secrets this process has read (files named by flags, the environment, an emulator's line): scrubbed from output.
_secrets: set[str] = set()


def remember_secret(value: str | None) -> None:
    if value:
        _secrets.add(value)


def kind_of(error: BaseException) -> str:
    if isinstance(error, CliError):
        return error.kind
    for cls, kind in _KINDS:
        if isinstance(error, cls):
            return kind
    if isinstance(error, OSError):
        return "system"
    return "error"


def _text(error: BaseException) -> str:
    if isinstance(error, SettingsError):
        return "; ".join(error.problems)
    if isinstance(error, OSError) and error.strerror:
        where = f" {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}: check the path and its permissions, or rerun with --debug"
    return str(error)


def report(
    error: BaseException,
    *,
    name_key: Callable[[str], str] = lambda key: key,
    extra_fix: str | None = None,
    secrets: Iterable[str] = (),
) -> str:
    """The one line for ``error``; ``name_key`` turns a ``b2c:`` config key into the flag or variable that set it."""
    text = " ".join(_text(error).split())  # one line, whatever the message held
    text = _CONFIG_KEY.sub(lambda m: name_key(f"b2c:{m.group(1)}"), text)
    if extra_fix:
        text = f"{text.rstrip('.')}: {extra_fix}"
    text = scrub(text, [*_secrets, *secrets])
    return f"{PROG}: {kind_of(error)}: {text}"


def unexpected(error: BaseException) -> str:
    """A bug: the type only (its message could hold anything), and how to see the traceback."""
    return f"{PROG}: internal error: {type(error).__name__}: rerun with --debug for the traceback and report it"
