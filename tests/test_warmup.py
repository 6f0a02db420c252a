"""The CLI says it is compiling when Numba's cache holds no current kernels."""

from __future__ import annotations

import os
import time

from crisis_sim.warmup import cache_is_warm


def test_an_empty_cache_is_cold_and_fresh_indexes_are_warm(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert not cache_is_warm()
    sub = tmp_path / "crisis_sim"  # Numba keeps one folder per source tree under the cache dir
    sub.mkdir()
    (sub / "kernel.advance_war-155.py311.nbi").write_bytes(b"")
    assert not cache_is_warm(), "the cohort kernels are not cached yet"
    (sub / "cohort.capabilities-23.py311.nbi").write_bytes(b"")
    assert cache_is_warm()
    old = time.time() - 10 * 365 * 86400  # an index older than its source is stale
    os.utime(sub / "cohort.capabilities-23.py311.nbi", (old, old))
    assert not cache_is_warm()
