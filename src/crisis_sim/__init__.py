"""crisis_sim: Monte Carlo simulation of crises under collective-security arrangements.

The public entry points: load a scenario, compile it, run chunks of replications, read results.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("crisis-sim")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
