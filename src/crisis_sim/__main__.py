"""``python -m crisis_sim`` is the ``crisis-sim`` command."""

from crisis_sim.cli import entry

entry()
