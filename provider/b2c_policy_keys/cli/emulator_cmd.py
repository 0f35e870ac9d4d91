"""``b2c-keys emulator``: run the local Graph emulator in the foreground until SIGINT/SIGTERM.

Prints one JSON line (flushed) with everything a client needs, so scripts can read it instead of polling a port.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from b2c_policy_keys.cli._errors import CliError
from b2c_policy_keys.emulator import DEFAULT_TENANT_ID, Emulator
from b2c_policy_keys.emulator.instance import DataDirectoryInUse

#: In the data directory while the emulator runs: its JSON line, for ``--emulator DIR`` of the other commands.
RUNNING_FILE = "running.json"


def default_data_dir() -> str:
    """Per user, not per working directory, so ``pulumi up`` and ``pulumi refresh`` from anywhere share a tenant."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "b2c-policy-keys" / "emulator")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port: use 0-65535 (0 picks a free one)")
    return port


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number >= 0")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the local Microsoft Graph emulator (HTTPS, OAuth2, B2C policy keys)",
        description="Run the local Microsoft Graph emulator until interrupted. Prints one JSON line with "
        "graph_url, authority_host, tenant_id, client_id, client_secret, ca_bundle and admin_url.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=_port, default=8443, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument(
        "--data",
        default=default_data_dir(),
        metavar="DIR|:memory:",
        help="data directory (tenant, keys, CA, signing keys) or :memory: (default: %(default)s)",
    )
    parser.add_argument("--no-tls", action="store_true", help="serve plain HTTP (debugging only: msal refuses it)")
    parser.add_argument(
        "--latency-ms", type=_non_negative, default=0, metavar="N", help="add N ms to every Graph request"
    )
    parser.add_argument(
        "--tenant-id", default=DEFAULT_TENANT_ID, help="tenant id for a new data directory (default: %(default)s)"
    )
    parser.add_argument(
        "--clients",
        type=Path,
        metavar="FILE",
        help='JSON file of extra clients: [{"client_id", "secret"?, "certificate_pem"?, "federated_subject"?, '
        '"roles"?}]',
    )
    parser.add_argument(
        "--token-lifetime",
        type=_positive,
        default=3600,
        metavar="SECONDS",
        help="access token lifetime (default: 3600)",
    )
    parser.set_defaults(func=run)


def load_clients(path: Path) -> list[dict[str, Any]]:
    """The ``--clients`` file: a list of client objects, or ``{"clients": [...]}``."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise CliError(
            "configuration", f"--clients {str(path)!r} cannot be read ({error.strerror})", "pass a readable JSON file"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON ({error.msg}): fix the file") from error
    if isinstance(data, dict):
        data = data.get("clients")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError(f'{path} must hold a list of client objects or {{"clients": [...]}}')
    return data


def _start(emulator: Emulator, args: argparse.Namespace) -> None:
    """Start, turning each way it fails into its cause and the flag that fixes it."""
    data = f"--data {args.data}"
    try:
        emulator.start()
    except DataDirectoryInUse as error:
        raise CliError(
            "emulator",
            f"the data directory {error.data_dir} is in use by another emulator (pid {error.pid or 'unknown'})",
            "stop that one, use it with `--emulator DIR` on the other commands, or pass another --data directory",
        ) from None
    except OSError as error:
        if error.filename is not None or isinstance(error, (NotADirectoryError, FileExistsError)):
            raise CliError(
                "emulator",
                f"cannot use the data directory {args.data} ({error.strerror}: {error.filename or args.data})",
                "pass --data a directory you can write, or --data :memory:",
            ) from None
        if error.errno == errno.EADDRINUSE:
            raise CliError(
                "emulator",
                f"port {args.port} on {args.host} is already in use",
                "stop what listens there (another emulator?), or pass --port 0 for a free port",
            ) from None
        if error.errno == errno.EACCES:
            raise CliError(
                "emulator", f"port {args.port} on {args.host} needs privileges", "pass a port above 1023, or --port 0"
            ) from None
        raise CliError(
            "emulator",
            f"cannot listen on {args.host}:{args.port} ({error.strerror or type(error).__name__})",
            "pass --host 127.0.0.1 (or an address of this machine)",
        ) from None
    except ValueError as error:  # a data directory of another tenant
        raise CliError("emulator", str(error).split(": ")[0], f"pass another --data directory than {data}") from None


def _serve(emulator: Emulator, stop: threading.Event) -> None:
    line = {
        "graph_url": emulator.graph_url,
        "authority_host": emulator.authority_host,
        "tenant_id": emulator.tenant_id,
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "ca_bundle": emulator.ca_bundle or None,
        "admin_url": emulator.admin_url,
        "readonly_client_id": emulator.readonly_client_id,
        "msi_header": emulator.msi_header,
        "data_dir": str(emulator.data_dir) if emulator.data_dir else None,
    }
    # `b2c-keys list --emulator DIR` finds a running emulator through this file. It is written before the
    # readiness line so whoever reads that line can rely on it; owner-only, like the data it points to. The data
    # directory's lock (held since start) makes this emulator the only writer.
    running = emulator.data_dir / RUNNING_FILE if emulator.data_dir else None
    if running is not None:
        running.touch(mode=0o600)
        running.write_text(json.dumps(line) + "\n", encoding="utf-8")
    print(json.dumps(line), flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if running is not None:
            running.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    emulator = Emulator(
        args.data,
        host=args.host,
        port=args.port,
        tls=not args.no_tls,
        latency_ms=args.latency_ms,
        tenant_id=args.tenant_id,
        token_lifetime_s=args.token_lifetime,
    )
    if args.clients is not None:
        for spec in load_clients(args.clients):
            emulator.add_client_from_spec(spec)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _start(emulator, args)
        try:
            _serve(emulator, stop)
        finally:
            emulator.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("b2c-keys emulator: stopped", file=sys.stderr, flush=True)
    return 0
