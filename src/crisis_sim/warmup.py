"""Whether Numba's on-disk cache holds the kernels (so the CLI can say it is compiling)."""

from __future__ import annotations

from pathlib import Path


def cache_is_warm() -> bool:
    """True when cached machine code for the combat kernel is on disk."""
    import os

    here = Path(__file__).parent
    folders = [here / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        folders.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    return any(any(f.rglob("kernel.advance_war-*.nbi")) for f in folders if f.exists())
