"""The engine stand-in's own CPU per resource: ``.venv/bin/python tests/engine/engine_cost.py 10000 up``.

N key sets in one real program, the emulator in a process of its own; what is timed is this process's CPU (resource
monitor, step generator, executor, journal), not the program, the provider host or the emulator. Not a test (it
takes minutes at 10,000): the layout work's benchmark unification is where it belongs next.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from b2c_policy_keys.testing.engine import Engine
from b2c_policy_keys.testing.fixtures import CREDENTIAL_PREFIXES
from support.programs import root_program

EMULATOR = """
import json, sys
from b2c_policy_keys.emulator import Emulator
e = Emulator().start()
print(json.dumps([e.tenant_id, e.client_id, e.client_secret, e.graph_url, e.authority_host, str(e.ca_bundle)]))
sys.stdout.flush()
sys.stdin.read()
"""
# pulumi.dynamic.serialize_provider wraps pickle._Pickler._batch_setitems once more per resource and never restores
# it (RecursionError past ~950 resources in one program): the program undoes it per resource.
PROGRAM = """
import pickle
from b2c_policy_keys import KeySet

original = pickle._Pickler._batch_setitems
for i in range({n}):
    KeySet(f"ks{{i}}", name=f"Set{{i}}")
    pickle._Pickler._batch_setitems = original
"""


def main(n: int, command: str) -> None:
    emulator = subprocess.Popen([sys.executable, "-c", EMULATOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert emulator.stdout is not None and emulator.stdin is not None
    tenant, client, secret, graph, authority, ca = json.loads(emulator.stdout.readline())
    environ = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    environ.update(
        ARM_TENANT_ID=tenant,
        ARM_CLIENT_ID=client,
        ARM_CLIENT_SECRET=secret,
        B2C_GRAPH_URL=graph,
        B2C_AUTHORITY_HOST=authority,
        B2C_CA_BUNDLE=ca,
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(root_program(Path(tmp), textwrap.dedent(PROGRAM.format(n=n))), "dev", environ=environ)
        cpu, wall = time.process_time(), time.perf_counter()
        engine.preview() if command == "preview" else engine.up(skip_preview=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{command} of {n} key sets: engine CPU {cpu * 1000 / n:.2f} ms per resource, wall {wall:.1f} s")
    emulator.stdin.close()
    emulator.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "up")
