"""The emulator in a process of its own (``b2c-keys emulator``), as the benchmark's stand-in for Graph.

In this process it would share the interpreter lock with the engine stand-in and the bare client, and a bare client
talking to a server in its own process would skip the process hand-off the provider host cannot: both sides must
cross to another process, as they do to the real service. The request log comes from the admin API.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import requests

from b2c_policy_keys.testing.protocol import stop_process


class EmulatorProcess:
    """``with EmulatorProcess(latency_ms=20) as emu:``: the attributes and log helpers the benchmark uses."""

    def __init__(self, *, latency_ms: int = 0) -> None:
        self.latency_ms = latency_ms
        self._proc: subprocess.Popen[str] | None = None
        self._admin = requests.Session()
        self._admin.trust_env = False
        self.graph_url = self.authority_host = self.tenant_id = self.client_id = self.client_secret = ""
        self.ca_bundle = self.admin_url = ""

    def start(self) -> EmulatorProcess:
        argv = [sys.executable, "-m", "b2c_policy_keys", "emulator", "--port", "0", "--data", ":memory:"]
        argv += ["--latency-ms", str(self.latency_ms)]
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("{"):
            stop_process(self._proc)
            raise RuntimeError(f"the emulator did not start: {line!r}")
        info = json.loads(line)
        for name in ("graph_url", "authority_host", "tenant_id", "client_id", "client_secret", "ca_bundle"):
            setattr(self, name, info[name])
        self.admin_url = info["admin_url"]
        self._admin.verify = self.ca_bundle
        return self

    def stop(self) -> None:
        self._admin.close()
        if self._proc is not None:
            stop_process(self._proc)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def requests_log(self) -> list[dict[str, Any]]:
        response = self._admin.get(f"{self.admin_url}/requests", timeout=30)
        response.raise_for_status()
        return list(response.json()["value"])

    def clear_requests(self) -> None:
        self._admin.delete(f"{self.admin_url}/requests", timeout=30).raise_for_status()
