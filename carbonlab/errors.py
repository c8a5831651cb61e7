"""The root of every error carbonlab raises on purpose.

Each package has its own root (`NodeError`, `GatewayError`, `LabError`, `RigError`),
all subclasses of `CarbonlabError`, so the CLI can tell a user's mistake (print one
line, exit 2) from a bug (traceback).
"""


class CarbonlabError(Exception):
    """Raised for a failure the user can act on: bad input, bad configuration, a host that is down."""
