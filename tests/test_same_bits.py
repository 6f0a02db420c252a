"""Results stay bit for bit what they were: a digest of every record of three scenarios' chunks.

Every round of speed work kept the results' bits (benchmarks/README.md); this pins them, so a
change that alters any record of a replication (of the model, or of the order of its
arithmetic) fails here, naming the records. When a change is meant to alter results, the
failure prints the new digests for ``same_bits.json``. Floating-point results may differ in
their last bits under another Numba, LLVM or platform, so the digests are checked only where
they were made (``made_with``); elsewhere the test is skipped, saying why.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "same_bits.json").read_text())


def _environment() -> dict[str, str]:
    import llvmlite
    import numba

    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
    }


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(GOLDEN["digests"]))
def test_every_record_is_bit_for_bit_as_recorded(name):
    if _environment() != GOLDEN["made_with"]:
        pytest.skip(f"digests made with {GOLDEN['made_with']}, this is {_environment()}")
    from crisis_sim import scenario
    from crisis_sim.compiled import compile_scenario
    from crisis_sim.crisis import simulate_chunk

    source = str(HERE / "scenarios" / f"{name}.toml") if name == "all_steps" else name
    out = simulate_chunk(
        compile_scenario(scenario.load(source)), GOLDEN["seed"], *GOLDEN["replications"]
    )
    got = {k: _digest(v) for k, v in sorted(out.items())}
    changed = sorted(k for k in got.keys() | GOLDEN["digests"][name].keys()
                     if got.get(k) != GOLDEN["digests"][name].get(k))  # fmt: skip
    assert not changed, f"{name}: records changed: {changed}; new digests: {json.dumps(got)}"
