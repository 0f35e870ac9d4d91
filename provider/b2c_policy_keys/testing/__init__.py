"""Test your Pulumi program against the Graph emulator, through an engine stand-in faithful to Pulumi's.

Also an opt-in pytest plugin (``-p b2c_policy_keys.testing`` or ``pytest_plugins = ["b2c_policy_keys.testing"]``).
Importing this package costs nothing: grpc and pulumi are imported by its submodules, when used.
"""
