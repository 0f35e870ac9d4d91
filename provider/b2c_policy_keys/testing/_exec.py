"""Run a Pulumi program as ``pulumi-language-python-exec`` does (``sdk/python/cmd/pulumi-language-python-exec``).

Config from ``PULUMI_CONFIG`` / ``PULUMI_CONFIG_SECRET_KEYS``, ``pulumi.runtime.Settings`` with the monitor and engine
addresses, then the program file through ``runpy.run_path`` inside ``pulumi.runtime.run_in_stack``. A
``pulumi.RunError`` is logged as an error (exit 1); any other exception as "Program failed with an unhandled
exception" (exit 32, the script's "error already shown to the user").
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

import pulumi
import pulumi.runtime

USER_ACTIONABLE_EXIT = 32  # PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE


def main() -> int:
    ap = argparse.ArgumentParser()
    for flag in (
        "project",
        "root_directory",
        "stack",
        "parallel",
        "dry_run",
        "pwd",
        "monitor",
        "engine",
        "organization",
    ):
        ap.add_argument(f"--{flag}")
    ap.add_argument("PROGRAM")
    args = ap.parse_args()
    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
    settings = pulumi.runtime.Settings(
        monitor=args.monitor,
        engine=args.engine,
        project=args.project,
        stack=args.stack,
        parallel=int(args.parallel),
        dry_run=args.dry_run == "true",
        organization=args.organization,
        root_directory=args.root_directory,
    )
    pulumi.runtime.configure(settings)
    sys.argv = [args.PROGRAM]
    if args.pwd is not None:
        os.chdir(args.pwd)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # _set_default_executor: parallelism * 4 threads for the SDK's blocking gRPC calls.
    executor = ThreadPoolExecutor(max_workers=max(settings.parallel or 1, 1) * 4)
    loop.set_default_executor(executor)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    exit_code = 1
    try:

        def run() -> None:
            runpy.run_path(args.PROGRAM, run_name="__main__")

        loop.run_until_complete(pulumi.runtime.run_in_stack(run))
        exit_code = 0
    except pulumi.RunError as error:
        pulumi.log.error(str(error))
    except Exception:
        pulumi.log.error("Program failed with an unhandled exception:\n" + traceback.format_exc())
        exit_code = USER_ACTIONABLE_EXIT
    finally:
        executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
