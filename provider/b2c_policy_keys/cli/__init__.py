"""The ``b2c-keys`` command: one argparse parser, one error funnel, commands in their own modules.

Each command module exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed namespace and returning the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from b2c_policy_keys._version import __version__
from b2c_policy_keys.errors import B2CKeysError, ConfigurationError

#: Command modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "b2c_policy_keys.cli.list_cmd",
    "b2c_policy_keys.cli.show_cmd",
    "b2c_policy_keys.cli.expiring_cmd",
    "b2c_policy_keys.cli.emulator_cmd",
    "b2c_policy_keys.cli.conformance_cmd",
    "b2c_policy_keys.cli.recover_cmd",
)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="b2c-keys",
        description="Inspect Azure AD B2C policy keys and run a local Microsoft Graph emulator.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = import_module(name).register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line with the cause and the fix (a traceback only with --debug)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except KeyboardInterrupt:
        return 130
    except (B2CKeysError, OSError, ValueError) as error:
        if args.debug:
            raise
        kind = "configuration" if isinstance(error, ConfigurationError) else "error"
        print(f"b2c-keys: {kind}: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
