"""Whether Numba's on-disk cache holds the kernels (so the CLI can say it is compiling)."""

from __future__ import annotations

from pathlib import Path


def cache_is_warm() -> bool:
    """True when cached machine code for the current kernels (combat and cohort) is on disk.

    Numba looks in ``NUMBA_CACHE_DIR`` when it is set, else in ``__pycache__`` beside the
    source; an index older than its source is stale (Numba recompiles after an upgrade).
    """
    import os

    here = Path(__file__).parent
    custom = os.environ.get("NUMBA_CACHE_DIR")
    folder = Path(custom) if custom else here / "__pycache__"
    if not folder.exists():
        return False
    for module, kernel in (("kernel", "advance_war"), ("cohort", "capabilities")):
        source = (here / f"{module}.py").stat().st_mtime
        if not any(f.stat().st_mtime >= source for f in folder.rglob(f"{module}.{kernel}-*.nbi")):
            return False
    return True
