"""``Emulator``: one running emulated tenant (HTTPS server, OAuth authority, Graph semantics) and its lifecycle."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from b2c_policy_keys._version import __version__
from b2c_policy_keys.emulator.admin import admin_handler
from b2c_policy_keys.emulator.auth import Authority
from b2c_policy_keys.emulator.clients import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    READONLY_CLIENT_ID,
    READONLY_CLIENT_SECRET,
    default_registry,
)
from b2c_policy_keys.emulator.faults import FaultBook
from b2c_policy_keys.emulator.requestlog import RequestLog
from b2c_policy_keys.emulator.routes import EmulatorApp
from b2c_policy_keys.emulator.server import EmulatorHTTPServer
from b2c_policy_keys.emulator.service import GraphService
from b2c_policy_keys.emulator.signing import SigningKey
from b2c_policy_keys.emulator.store import Store
from b2c_policy_keys.emulator.tls import ensure_tls_files

MEMORY = ":memory:"
DEFAULT_SUBJECT = "repo:example/app:ref:refs/heads/main"
#: How often the serving loop checks for shutdown: bounds how long ``stop()`` waits.
POLL_INTERVAL_S = 0.05
_STATE_FILE = "emulator.json"
#: Held (``flock``, exclusive) by the one emulator serving a data directory; it holds that emulator's pid.
LOCK_FILE = "emulator.lock"


class DataDirectoryInUse(RuntimeError):
    """Another emulator serves this data directory: two would corrupt each other's store and ``running.json``."""

    def __init__(self, data_dir: Path, pid: str) -> None:
        self.data_dir, self.pid = data_dir, pid
        super().__init__(
            f"the data directory {data_dir} is in use by another emulator (pid {pid or 'unknown'}): "
            "stop that one, or use another data directory"
        )


def _lock_data_dir(data_dir: Path) -> int:
    """An exclusive ``flock`` on the directory's lock file, or ``DataDirectoryInUse``; the lock dies with the
    process, so a crashed emulator never leaves a directory locked (flock(2))."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise DataDirectoryInUse(data_dir, pid) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def data_dir_in_use(data_dir: str | os.PathLike[str]) -> bool:
    """Whether an emulator serves ``data_dir`` now (its lock is held), without disturbing it."""
    try:
        fd = os.open(Path(data_dir) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock, if it was taken
    return False


_memory_keys_lock = threading.Lock()
_memory_keys: list[SigningKey] = []


def _memory_signing_keys() -> tuple[SigningKey, SigningKey]:
    """In-memory emulators of one process share two generated RSA keys: RSA generation dominates start-up time.

    Tokens stay tenant-bound (issuer and ``tid`` are checked), so emulators on different tenants still reject each
    other's tokens.
    """
    with _memory_keys_lock:
        while len(_memory_keys) < 2:
            _memory_keys.append(SigningKey.generate())
        return _memory_keys[0], _memory_keys[1]


def _host_for_url(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 - naming the wildcard, not binding it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Emulator:
    """A local Microsoft Graph emulator for B2C policy keys. ``with Emulator() as emu:`` starts and stops it."""

    def __init__(
        self,
        data: str | os.PathLike[str] = MEMORY,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = True,
        latency_ms: int = 0,
        tenant_id: str = DEFAULT_TENANT_ID,
        token_lifetime_s: int = 3600,
    ) -> None:
        self.data_dir: Path | None = None if os.fspath(data) == MEMORY else Path(data).expanduser().resolve()
        self.host = host
        self.port = port
        self.tls = tls
        self.latency_ms = latency_ms
        self.tenant_id = tenant_id
        self.token_lifetime_s = token_lifetime_s
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET
        self.readonly_client_id = READONLY_CLIENT_ID
        self.readonly_client_secret = READONLY_CLIENT_SECRET
        self.msi_header = secrets.token_urlsafe(24)
        self.graph_url = self.authority_host = self.admin_url = self.ca_bundle = ""
        self.clients = default_registry()
        self.faults = FaultBook()
        self.log = RequestLog()
        #: Seconds added to the wall clock for not-before, expiry and the active key (tokens keep real time).
        self.clock_offset_s = 0
        self._temp_dir: Path | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._service: GraphService | None = None
        self._authority: Authority | None = None
        self._lock_fd: int | None = None

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind, then serve in a background thread: ready to answer when this returns (no polling needed)."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _lock_data_dir(self.data_dir)  # before anything in the directory is read or written
            self.tenant_id = self._settle_tenant(self.data_dir)
            keys_dir = self.data_dir / "keys"
            signing = SigningKey.load_or_create(keys_dir / "token-signing.pem")
            federation = SigningKey.load_or_create(keys_dir / "federation-issuer.pem")
            tls_dir = self.data_dir / "tls"
        else:
            signing, federation = _memory_signing_keys()
            self._temp_dir = Path(tempfile.mkdtemp(prefix="b2c-emulator-"))
            tls_dir = self._temp_dir / "tls"
        ssl_context = None
        if self.tls:
            tls_files = ensure_tls_files(tls_dir)
            self.ca_bundle = str(tls_files.ca_bundle)
            ssl_context = tls_files.server_context()
        self._authority = Authority(
            tenant_id=self.tenant_id,
            clients=self.clients,
            signing_key=signing,
            federation_key=federation,
            token_lifetime_s=self.token_lifetime_s,
        )
        self._store = Store.open(self.data_dir)
        app = EmulatorApp(
            authority=self._authority,
            service=None,  # set below, once the port (and so graph_url) is known
            faults=self.faults,
            log=self.log,
            msi_header=self.msi_header,
            authority_host="",
            admin=admin_handler(self),
        )
        self._server = EmulatorHTTPServer(self.host, self.port, app, ssl_context)
        self.port = int(self._server.server_address[1])
        root = f"{'https' if self.tls else 'http'}://{_host_for_url(self.host)}:{self.port}"
        self.graph_url = self.authority_host = root
        self.admin_url = f"{root}/_emulator"
        self._service = GraphService(
            self._store, tenant_id=self.tenant_id, graph_url=root, latency_s=self.latency_ms / 1000, clock=self.now
        )
        app.service = self._service
        app.authority_host = root
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name=f"b2c-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _settle_tenant(self, data_dir: Path) -> str:
        """A data directory belongs to one tenant: the first start records it, later starts keep it."""
        state_file = data_dir / _STATE_FILE
        if state_file.exists():
            stored = str(json.loads(state_file.read_text())["tenant_id"])
            if self.tenant_id not in (DEFAULT_TENANT_ID, stored):
                raise ValueError(
                    f"the data directory {data_dir} holds tenant {stored}, not {self.tenant_id}: "
                    "use another directory for another tenant"
                )
            return stored
        state_file.write_text(json.dumps({"tenant_id": self.tenant_id}) + "\n")
        return self.tenant_id

    def stop(self) -> None:
        """Stop serving, close every connection (idle keep-alive ones too) and release the data directory."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.graph_url if self.running else "stopped"
        return f"Emulator({state}, tenant={self.tenant_id}, data={self.data_dir or MEMORY})"

    # --- helpers mirroring the admin API ---------------------------------------------------------------------

    @property
    def authority(self) -> Authority:
        if self._authority is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        return self._authority

    @property
    def service(self) -> GraphService:
        if self._service is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        return self._service

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "tenant_id": self.tenant_id,
            "graph_url": self.graph_url,
            "authority_host": self.authority_host,
            "tls": self.tls,
        }

    def requests_log(self) -> list[dict[str, Any]]:
        return self.log.entries()

    def clear_requests(self) -> None:
        self.log.clear()

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        return self.faults.add(fault).describe()

    def list_faults(self) -> list[dict[str, Any]]:
        return self.faults.list()

    def clear_faults(self) -> None:
        self.faults.clear()

    def now(self) -> int:
        """The tenant's time in epoch seconds: the wall clock plus ``clock_offset_s``."""
        return int(time.time()) + self.clock_offset_s

    def clock(self) -> dict[str, int]:
        return {"now": self.now(), "offset_s": self.clock_offset_s}

    def advance_clock(self, seconds: object) -> dict[str, int]:
        """Move the tenant's time forward (tests pass a not-before without sleeping); never backward."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError("'advance_s' must be a non-negative integer (seconds)")
        self.clock_offset_s += seconds
        return self.clock()

    def reset(self) -> None:
        """Empty the tenant (key sets and keys); clients, faults and the request log stay."""
        self.service.reset()

    def add_client(self, client_id: str, **credentials: Any) -> None:
        """Register (or extend) a client: ``secret``, ``certificate_pem``, ``federated_subject``, ``roles``."""
        self.clients.add(client_id, **credentials)

    def add_client_from_spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        client = self.clients.add_from_spec(spec)
        return {"client_id": client.client_id, "roles": sorted(client.roles)}

    def federated_token(self, subject: str = DEFAULT_SUBJECT, client_id: str | None = None) -> str:
        """An assertion from the emulator's external issuer, for ``client_credential={"client_assertion": ...}``."""
        return self.authority.federated_token(subject, client_id=client_id)

    def access_token(self, client_id: str = DEFAULT_CLIENT_ID, *, lifetime_s: int | None = None) -> str:
        """A Graph access token for a registered client without the OAuth round trip (negative lifetime: expired)."""
        client = self.clients.get(client_id)
        if client is None:
            raise ValueError(f"no client '{client_id}' is registered")
        return self.authority.issue(client.client_id, client.roles, lifetime_s=lifetime_s).access_token

    def secret_matches(self, keyset_id: str, kid: str, value: str) -> bool:
        return self.service.secret_matches(keyset_id, kid, value)
