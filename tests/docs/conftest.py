"""The docs' programs run as a user's do: through the ``b2c_policy_keys.testing`` plugin's fixtures."""

from b2c_policy_keys.testing import b2c_emulator, b2c_engine  # noqa: F401  (the plugin's fixtures)
