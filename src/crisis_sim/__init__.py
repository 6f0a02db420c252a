"""crisis_sim: Monte Carlo simulation of crises under collective-security arrangements.

The public entry points: load a scenario, compile it, run chunks of replications, read results.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, looked up when asked for: the lookup costs ~25 ms at start-up."""
    if name != "__version__":
        raise AttributeError(f"module 'crisis_sim' has no attribute {name!r}")
    from importlib import metadata

    try:
        return metadata.version("crisis-sim")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0.0.0"
