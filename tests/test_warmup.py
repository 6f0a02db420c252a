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


def _index(path, stamp) -> None:
    """An index in Numba's layout: its version, then (source stamp, overloads)."""
    import pickle

    path.write_bytes(pickle.dumps("0.68.1") + pickle.dumps((stamp, {})))


def test_an_index_counts_when_made_from_the_source_as_it_is(tmp_path, monkeypatch):
    """Numba stamps indexes with the source's hash: a source touched but unchanged stays warm."""
    import hashlib
    from pathlib import Path

    import crisis_sim

    here = Path(crisis_sim.__file__).parent
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    sub = tmp_path / "crisis_sim"
    sub.mkdir()
    old = time.time() - 10 * 365 * 86400
    for module, name in (("kernel", "advance_war"), ("cohort", "capabilities")):
        index = sub / f"{module}.{name}-7.py311.nbi"
        _index(index, hashlib.sha256((here / f"{module}.py").read_bytes()).digest())
        os.utime(index, (old, old))  # older than the source, yet made from the same text
    assert cache_is_warm()
    _index(sub / "cohort.capabilities-7.py311.nbi", hashlib.sha256(b"other text").digest())
    assert not cache_is_warm(), "an index made from other text is stale, however new"
