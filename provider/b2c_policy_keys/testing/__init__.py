"""Test your Pulumi program against the Graph emulator, through an engine stand-in faithful to Pulumi's.

Also an opt-in pytest plugin (``-p b2c_policy_keys.testing`` or ``pytest_plugins = ["b2c_policy_keys.testing"]``).
Importing this package costs nothing: grpc and pulumi are imported by its submodules, when used.
"""

from importlib.util import find_spec

if find_spec("pytest") is not None:  # the plugin's fixtures, for ``-p b2c_policy_keys.testing``; pytest is light
    from b2c_policy_keys.testing.fixtures import B2CEmulator, b2c_emulator, b2c_engine

    __all__ = ["B2CEmulator", "b2c_emulator", "b2c_engine"]
