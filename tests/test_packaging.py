"""What the package reads at run time is what a wheel ships (a non-editable ``pip install .``)."""

from __future__ import annotations

import fnmatch
import tomllib

from conftest import ROOT

PACKAGE = ROOT / "src" / "crisis_sim"


def test_every_data_file_the_package_reads_is_package_data():
    """Scenario and data files outside Python modules need a package-data pattern to be installed.

    An editable install reads them from the source tree, so a missing pattern shows only after
    ``pip install .``: ``data/calibration.json`` was once left out this way.
    """
    with (ROOT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["crisis_sim"]
    files = [
        p.relative_to(PACKAGE).as_posix()
        for folder in ("data", "scenarios")
        for p in (PACKAGE / folder).iterdir()
        if p.is_file()
    ]
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert not missing, f"not installed by 'pip install .': {missing}"
