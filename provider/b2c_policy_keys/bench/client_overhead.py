"""How much the Graph client adds to one call, measured against a bare ``requests`` call of the same GET.

Starts the emulator in its own process (so it does not share this process's GIL), creates one key set, then
alternates rounds of ``GraphClient.get_keyset`` and of a bare ``requests.Session.get`` of the same URL with the same
token and CA (plus ``.json()``), and prints per-call medians and their ratio. Goal: ratio at most 1.10.

    python -m b2c_policy_keys.bench.client_overhead [--calls 100] [--rounds 31]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import requests

from b2c_policy_keys.graph import client_for, resolve_settings


def start_emulator() -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "b2c_policy_keys", "emulator", "--port", "0", "--data", ":memory:"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the emulator prints its JSON line once it is ready to serve
    if not line:
        process.kill()
        raise SystemExit("the emulator did not start")
    return process, json.loads(line)


def per_call(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Wall time and this process's CPU time per call (the CPU figure is steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100, help="calls per round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=31, help="rounds of each (default: %(default)s)")
    args = parser.parse_args()

    process, emu = start_emulator()
    try:
        config = {
            "b2c:tenantId": emu["tenant_id"],
            "b2c:clientId": emu["client_id"],
            "b2c:clientSecret": emu["client_secret"],
            "b2c:graphUrl": emu["graph_url"],
            "b2c:authorityHost": emu["authority_host"],
            "b2c:caBundle": emu["ca_bundle"],
        }
        client = client_for(resolve_settings(config.get, env={}))
        client.create_keyset("overhead")

        token = client._transport.tokens.token()  # the same token, so both sides send identical requests
        url = f"{emu['graph_url']}/beta/trustFramework/keySets/B2C_1A_overhead"
        bare = requests.Session()
        bare.trust_env = False  # like the client: the environment cannot override the CA passed below
        headers = {"Authorization": f"Bearer {token}"}

        def bare_get() -> object:
            response = bare.get(url, headers=headers, verify=emu["ca_bundle"], timeout=(10, 60))
            response.raise_for_status()
            return response.json()

        def client_get() -> object:
            return client.get_keyset("overhead")

        for fn in (bare_get, client_get):  # warm both connection pools and code paths
            per_call(fn, 50)
        bare_times: list[tuple[float, float]] = []
        client_times: list[tuple[float, float]] = []
        for round_number in range(args.rounds):
            # Alternate which goes first so that drift (CPU frequency, the emulator's caches) favours neither.
            first, second = (bare_get, client_get) if round_number % 2 == 0 else (client_get, bare_get)
            timings = {first: per_call(first, args.calls), second: per_call(second, args.calls)}
            bare_times.append(timings[bare_get])
            client_times.append(timings[client_get])
    finally:
        process.terminate()
        process.wait(timeout=10)

    print(f"Graph client overhead per GET of one key set ({args.rounds} interleaved rounds x {args.calls} calls)")
    print("best round: least disturbed by other load on the machine (timeit's advice); median: typical round")
    print(f"{'path':<28}{'best wall ms':>14}{'median wall ms':>16}{'median cpu ms':>15}")
    figures = {}
    for name, times in (("bare requests.Session.get", bare_times), ("GraphClient.get_keyset", client_times)):
        walls, cpus = [t[0] * 1000 for t in times], [t[1] * 1000 for t in times]
        figures[name] = (min(walls), statistics.median(walls), statistics.median(cpus))
        print(f"{name:<28}{figures[name][0]:>14.3f}{figures[name][1]:>16.3f}{figures[name][2]:>15.3f}")
    bare_figures, client_figures = figures.values()
    columns = list(zip(client_figures, bare_figures, (14, 16, 15), strict=True))
    print(f"{'overhead':<28}" + "".join(f"{c - b:>{w}.3f}" for c, b, w in columns))
    print(f"{'ratio (goal <= 1.10)':<28}" + "".join(f"{c / b:>{w}.3f}" for c, b, w in columns))
    print(f"cpus: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
