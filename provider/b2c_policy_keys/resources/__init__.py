"""Pulumi dynamic resources for B2C policy keys: one module per resource kind, shared plumbing in ``_common``.

Modules and provider classes never move or get renamed: state written by earlier versions names them.
Import the resources from ``b2c_policy_keys`` (lazily) or from their modules.
"""
