"""The ``b2c-keys`` command: one argparse parser, one error funnel, commands in their own modules.

Each command module exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed namespace and returning the exit status. The funnel gives every command, without code of its own:
one-line errors (``_errors``), a quiet broken pipe (``_output``), and ``--debug`` before or after the subcommand.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import NoReturn

from b2c_policy_keys._version import __version__
from b2c_policy_keys.errors import B2CKeysError

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

_DEBUG_HELP = "show tracebacks on errors (accepted before or after the command)"


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line with the fix, like every other error; subparsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        print(f"b2c-keys: usage: {message}: see `{self.prog} --help`", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def _add_debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on every (sub)command; SUPPRESS keeps a subcommand from resetting the top-level value."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if not any("--debug" in a.option_strings for a in sub._actions):
                    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
                _add_debug_everywhere(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="b2c-keys",
        description="Inspect Azure AD B2C policy keys and run a local Microsoft Graph emulator. "
        "Exit status: 0 success, 1 findings (expiring), 2 error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)  # type: ignore[assignment]
    for name in COMMAND_MODULES:
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = import_module(name).register
        register(subparsers)
    _add_debug_everywhere(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line with the cause and the fix (a traceback only with --debug)."""
    from b2c_policy_keys.cli import _errors, _output  # here, not above: command modules import this package

    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    with _output.guarded_stdout():
        try:
            status: int = args.func(args)
            return status
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:  # stdout is guarded; this is another pipe (a child's, a file's): still quiet
            return EXIT_ERROR
        except (B2CKeysError, OSError, ValueError) as error:
            if debug:
                raise
            from b2c_policy_keys.cli import _target  # only on this path: it imports the Graph client (msal)

            line = _errors.report(
                error,
                name_key=lambda key: _target.source_name(args, key),
                extra_fix=_target.connection_fix(args, error),
            )
            _say(line)
            return EXIT_ERROR
        except Exception as error:
            if debug:
                raise
            _say(_errors.unexpected(error))
            return EXIT_ERROR


def _say(line: str) -> None:
    """The error line on stderr; stderr piped into a reader that has gone (``2>&1 | head``) costs nothing more."""
    with contextlib.suppress(BrokenPipeError):
        print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
