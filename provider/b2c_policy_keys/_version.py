"""The package version, for the User-Agent and the CLI: a literal, the one place it is kept.

``pyproject.toml`` reads it from here (``[tool.setuptools.dynamic]``). Asking ``importlib.metadata`` instead cost
about 6 ms of every provider host start (importing it and scanning the installed distributions).
"""

__version__ = "0.1.0"
