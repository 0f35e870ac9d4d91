"""Emulator throughput and memory: GET of a key set, uploadSecret, and RSS at 0 / 5,000 / 10,000 key sets.

Not a test: prints a table. Runs the emulator as users do (``b2c-keys emulator`` in its own process, HTTPS, a
fresh data directory), drives it from keep-alive HTTPS connections on a few client threads for a bounded time,
and reads the emulator's resident memory from /proc.

    python -m b2c_policy_keys.bench.emulator_throughput [--seconds 5] [--threads 4] [--keysets 10000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

KEYSETS = "/beta/trustFramework/keySets"
SCOPE = "https://graph.microsoft.com/.default"


class Client:
    """One keep-alive HTTPS connection (http.client: the client must cost less CPU than the server)."""

    def __init__(self, info: dict[str, Any], token: str | None = None) -> None:
        url = urllib.parse.urlsplit(info["graph_url"])
        context = ssl.create_default_context(cafile=info["ca_bundle"])
        self.connection = http.client.HTTPSConnection(url.hostname or "", url.port, context=context, timeout=60)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        payload = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        self.connection.request(method, path, body=payload, headers=headers or self.headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None


def start_emulator(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "b2c_policy_keys", "emulator", "--port", "0", "--data", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def token(info: dict[str, Any]) -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "scope": SCOPE,
        }
    )
    client = Client(info)
    status, body = client.call(
        "POST", f"/{info['tenant_id']}/oauth2/v2.0/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200, body
    return str(body["access_token"])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_for(seconds: float, threads: int, make_worker: Callable[[int], Callable[[], int]]) -> tuple[int, int, float]:
    """Each thread calls its worker until the deadline; returns (requests, errors, elapsed seconds)."""
    deadline = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads

    def loop(index: int) -> None:
        work = make_worker(index)
        while time.monotonic() < deadline:
            status = work()
            counts[index] += 1
            if status >= 400:
                errors[index] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts), sum(errors), time.monotonic() - started


def populate(info: dict[str, Any], access_token: str, start: int, stop: int, threads: int) -> None:
    def create(chunk: range) -> None:
        client = Client(info, access_token)
        for number in chunk:
            status, body = client.call("POST", KEYSETS, {"id": f"bench{number:05d}"})
            assert status == 201, body

    size = max(1, (stop - start + threads - 1) // threads)
    chunks = [range(i, min(i + size, stop)) for i in range(start, stop, size)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, chunks))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--threads", type=int, default=4, help="client threads (one keep-alive connection each)")
    parser.add_argument("--keysets", type=int, default=10_000, help="key sets for the memory measurement")
    args = parser.parse_args()
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="b2c-bench-") as data_dir:
        process, info = start_emulator(Path(data_dir))
        try:
            access_token = token(info)
            rows.append(("RSS at 0 key sets", f"{rss_mib(process.pid):.1f} MiB"))
            setup = Client(info, access_token)
            for index in range(args.threads):
                setup.call("POST", KEYSETS, {"id": f"hot{index}"})
            setup.call("POST", KEYSETS, {"id": "read"})
            setup.call("POST", f"{KEYSETS}/B2C_1A_read/uploadSecret", {"use": "sig", "k": "benchmark-secret"})

            def getter(index: int) -> Callable[[], int]:
                client = Client(info, access_token)
                return lambda: client.call("GET", f"{KEYSETS}/B2C_1A_read")[0]

            done, errors, elapsed = run_for(args.seconds, args.threads, getter)
            rows.append(
                (f"GET key set, 1 key ({args.threads} threads)", f"{done / elapsed:,.0f} req/s ({errors} errors)")
            )

            def uploader(index: int) -> Callable[[], int]:
                client = Client(info, access_token)
                path = f"{KEYSETS}/B2C_1A_hot{index}/uploadSecret"
                return lambda: client.call("POST", path, {"use": "sig", "k": "benchmark-secret"})[0]

            done, errors, elapsed = run_for(args.seconds, args.threads, uploader)
            rows.append(
                (f"uploadSecret ({args.threads} threads, a set each)", f"{done / elapsed:,.0f} req/s ({errors} errors)")
            )

            half = args.keysets // 2
            populate(info, access_token, 0, half, args.threads)
            rows.append((f"RSS at {half:,} key sets", f"{rss_mib(process.pid):.1f} MiB"))
            populate(info, access_token, half, args.keysets, args.threads)
            rows.append((f"RSS at {args.keysets:,} key sets", f"{rss_mib(process.pid):.1f} MiB"))
            done, errors, elapsed = run_for(args.seconds, args.threads, getter)
            rows.append((f"GET key set at {args.keysets:,} sets", f"{done / elapsed:,.0f} req/s ({errors} errors)"))
        finally:
            process.terminate()
            process.wait(timeout=30)

    width = max(len(label) for label, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 28}")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
