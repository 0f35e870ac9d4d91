"""The b2c-policy-keys program: every stack deploys the key sets declared once in stacks/keysets.yaml.

At the project root, not in stacks/: the root is then the program directory, where both Pulumi's language host
and its dynamic-provider launcher resolve ``virtualenv: .venv`` (pulumi/pulumi#7061; README "Your own infra repo").

Before anything is registered, the whole declaration is checked against this stack (missing or clear-text secrets,
template placeholders, unknown kinds, duplicates): one error lists every problem with the command that fixes it.
"""

from pathlib import Path

import pulumi

from b2c_policy_keys.program import deploy, load_checked_declaration

declaration = load_checked_declaration(Path(__file__).parent / "stacks" / "keysets.yaml")
# Per key set: its id, the key this stack keeps active in it, and that key's expiry.
pulumi.export("keySets", deploy(declaration))
