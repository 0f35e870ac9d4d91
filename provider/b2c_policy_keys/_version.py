"""The package version, read once for the User-Agent and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("b2c-policy-keys")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
