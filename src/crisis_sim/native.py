"""The kernels compiled ahead of time, so that a pool worker computes from the moment it is forked.

A run on several one-thread workers (``--workers 2`` on two cores) spends a third of a
10^6-replication run getting ready: the run's process imports Numba (0.3 s, while the other
core idles) so that the workers forked from it inherit it, and each worker then loads the
kernels from Numba's cache (0.1-0.4 s, the two side by side with the run's own work on two
cores). Here the same kernels, from the same source, are compiled once into one extension
module (Numba's ``pycc``) that imports like any other: neither the run's process nor its
workers import Numba at all.

Only the serial variants are compiled so, and only the passes a chunk calls (:data:`EXPORTS`);
they serve forked one-thread pool workers on Linux. A process with several Numba threads (one
worker), ``trace``, Dask workers and the tests call Numba's JIT kernels as before, through the
same :data:`kernels`. Both are compiled by the same LLVM for this CPU from the same source,
with no fast-math: the same bits (``tests/test_native.py``).

The module is built by the first run that wants it (about 20 s, in a separate process, with a
C compiler), once per version of the kernels' sources and per machine, beside Numba's cache. It
does not check its arguments; :data:`kernels` does, and refuses a wrong type in one line
instead of reading memory as another type. Without a C compiler, or with
``CRISIS_SIM_AHEAD_OF_TIME=0``, the workers load the JIT kernels from Numba's cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache, lru_cache
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

# Set to 0 to keep to Numba's JIT kernels everywhere.
SWITCH = "CRISIS_SIM_AHEAD_OF_TIME"

# Every kernel a chunk calls on a one-thread worker: its module, and its signature as the crisis
# calls it (Numba's notation: i8 int64, i1 int8, b1 bool, f8 float64; [::1] contiguous,
# [:] any layout).
EXPORTS: dict[str, tuple[str, str]] = {
    "capabilities": ("cohort", "f8[:,::1](i8, i8[::1], f8[::1], f8[::1])"),
    "perceived_balance": (
        "cohort",
        "UniTuple(f8[::1], 2)(i8, i8[::1], f8[:,::1], f8[::1], f8[::1], f8[::1], f8[::1], i8, i8, "
        "f8, f8)",
    ),
    "claim_keys": (
        "cohort",
        "Tuple((i8[::1], i8))(i8, i8[::1], i8[::1], i1[::1], i1[::1], b1[::1], i4[::1])",
    ),
    "enter": (
        "cohort",
        "Tuple((i8[::1], i8))(i8, i8[::1], i8[::1], i8[::1], i1[::1], i1[::1], f8[::1], "
        "i4[:,::1], i1[:,::1], i1[:,::1], b1[:,::1], f8[:,::1], f8[::1], i2[::1], i2[:,::1], "
        "i1[:,::1], i4[:,::1], f8[:,::1])",
    ),
    "vote": (
        "cohort",
        "Tuple((b1[:,::1], b1[:,::1], i1[::1], i8[::1]))(i8, i8[::1], i8[::1], i8[::1], "
        "f8[::1], b1[::1], i8, f8, b1[::1], b1[::1], b1[::1], b1[:,::1], b1[:], b1[::1], i8, "
        "b1[::1], i8, b1)",
    ),
    "record_vote": (
        "cohort",
        "void(i8[::1], i1[::1], i8[::1], i8[::1], i8, i8, i8[::1], i1[::1], b1[::1], "
        "i2[:,::1], i1[:,::1], i2[:,::1], i2[:,:,::1])",
    ),
    "void_votes": (
        "cohort",
        "void(i1[::1], i4[::1], i2[:,::1], i1[:,::1], i2[:,::1], i2[:,:,::1])",
    ),
    "grouped": ("cohort", "UniTuple(i8[::1], 3)(i8[:], i8)"),
    "open_on": ("cohort", "b1[::1](i8[::1], i8, b1[::1], i4[::1], i1[::1], b1)"),
    "treaty_plan": (
        "cohort",
        "Tuple((i8[::1], i8[:,::1]))(i8, i8[::1], i8[::1], i8[::1], i8[::1], i1[:,::1], "
        "i4[:,::1], i8[::1], i8[:,::1], i8[:,::1])",
    ),
    "treaty_calls": (
        "cohort",
        "i8[:,::1](i8, i8, i8[::1], i8[::1], i4[:,::1], i8[::1], i8[:,::1], f8[:,::1])",
    ),
    "advance_war_serial": (
        "kernel",
        "void(i8[::1], i8, i8[::1], i2[::1], i2[:,::1], i1[:,::1], i4[:,::1], f8[:,::1], "
        "f8[:,::1], i8[::1], f8[::1], f8[::1], i4[::1], i1[::1], i8[::1], b1[::1], b1[::1], i8, "
        "i8, f8[::1])",
    ),
    "helpers_in_field": (
        "kernel",
        "b1[::1](i8[::1], i4[::1], i2[::1], i2[:,::1], i1[:,::1], i4[:,::1], f8[:,::1], "
        "f8[:,::1], i1[:,::1], i8)",
    ),
    "contest_success": ("kernel", "f8[::1](f8[::1], f8[::1], f8)"),
    "state_records": (
        "kernel",
        "Tuple((i1[:,::1], i2[:,::1], i2[:,::1], i1[:,::1], i2[::1], i2[::1]))(i4[:,::1], "
        "i1[:,::1], i1[:,::1], b1[:,::1], i4[::1], i8[::1])",
    ),
    "uniforms_serial": ("rng", "f8[:,::1](i8, i8[::1], i8, i8[::1])"),
    "lognormal_days": ("rng", "i8[::1](i8, i8[::1], i8, i8[::1], f8, f8)"),
}
# Kernels with several threads: Numba's JIT only.
JIT_ONLY = {"advance_war": "kernel", "uniforms": "rng"}

_DTYPES: dict[str, np.dtype[Any]] = {
    "i1": np.dtype(np.int8),
    "i2": np.dtype(np.int16),
    "i4": np.dtype(np.int32),
    "i8": np.dtype(np.int64),
    "f8": np.dtype(np.float64),
    "b1": np.dtype(np.bool_),
}
_ARRAY = re.compile(r"^(\w\d)\[([:,\s1]+)\]$")


class Kernels:
    """The compiled kernels this process calls: compiled ahead of time, or Numba's JIT ones.

    Compiled ahead of time, they are this object's own attributes (:func:`use`). Otherwise each
    name is looked up in its module at each call, so a benchmark may wrap a JIT kernel there.
    """

    def __getattr__(self, name: str) -> Callable[..., Any]:
        module = _MODULES.get(name)
        if module is None:
            where = EXPORTS[name][0] if name in EXPORTS else JIT_ONLY[name]
            module = _MODULES[name] = import_module(f"crisis_sim.{where}")
        return getattr(module, name)  # type: ignore[no-any-return]


_MODULES: dict[str, Any] = {}
kernels = Kernels()


def ahead_of_time() -> bool:
    """Whether this process calls the kernels compiled ahead of time (serial kernels only)."""
    return bool(vars(kernels))


def use() -> bool:
    """Use the kernels compiled ahead of time in this process (and the workers it forks).

    Builds them first if this machine has none for the current sources (once, ~20 s). False,
    and nothing changed, where they cannot be had: switched off, no writable cache folder, a
    build that failed here before, or a module that does not load.
    """
    if ahead_of_time():
        return True
    if not wanted():
        return False
    path = module_path()
    if path is None:
        return False
    if not path.exists():
        if failed_recently(path) or not build(path):
            return False
    try:
        module = _load(path)
        checked = {name: _checked(name, getattr(module, name)) for name in EXPORTS}
    except (ImportError, OSError, AttributeError):
        return False  # a module that does not load here, or lacks a kernel: the JIT kernels
    for name, fn in checked.items():
        setattr(kernels, name, fn)
    return True


# How long a failed build is not tried again (a C compiler installed since, a full disk freed).
RETRY_AFTER_S = 24 * 3600


def failure_note(path: Path | None = None) -> Path | None:
    """The file saying why the module for the current sources and machine could not be built."""
    path = path or module_path()
    if path is None:
        return None
    note = path.with_suffix(".failed")
    return note if note.exists() else None


def failed_recently(path: Path) -> bool:
    """Whether building the module at ``path`` failed less than :data:`RETRY_AFTER_S` ago."""
    import time

    note = failure_note(path)
    try:
        return note is not None and time.time() - note.stat().st_mtime < RETRY_AFTER_S
    except OSError:
        return False


def stop_using() -> None:
    """Back to Numba's JIT kernels in this process."""
    vars(kernels).clear()


def wanted() -> bool:
    """Whether this process may use kernels compiled ahead of time (Linux, not switched off).

    ``CRISIS_SIM_AHEAD_OF_TIME`` set to 0, false, no or off switches them off.
    """
    off = os.environ.get(SWITCH, "1").strip().lower() in {"0", "false", "no", "off"}
    return sys.platform.startswith("linux") and not off


def ready() -> bool:
    """Whether the module for the current sources and machine is built."""
    path = module_path()
    return path is not None and path.exists()


def is_built() -> bool:
    """Whether the module for the current sources and machine is there (or cannot be built)."""
    path = module_path()
    return path is None or path.exists() or failed_recently(path)


def module_path() -> Path | None:
    """Where the module for the current kernels' sources and this machine lives (None: nowhere).

    Beside Numba's cache (``NUMBA_CACHE_DIR``, else the package's ``__pycache__``), if that
    folder is writable. The name carries a digest of the kernels' sources, of what the module
    exports (:data:`EXPORTS`), of this CPU's model and instruction sets, and of the NumPy, Numba
    and Python it is built with.
    """
    from crisis_sim.warmup import sources_digest

    custom = os.environ.get("NUMBA_CACHE_DIR")
    folder = Path(custom) if custom else Path(__file__).parent / "__pycache__"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    h = hashlib.sha256(sources_digest().encode())
    h.update(repr(EXPORTS).encode())  # what it exports, with which signatures
    h.update(_machine().encode())
    suffix = _extension_suffix()
    return folder / f"{MODULE_PREFIX}{h.hexdigest()[:16]}{suffix}"


MODULE_PREFIX = "crisis_sim_native_"


def _extension_suffix() -> str:
    from importlib.machinery import EXTENSION_SUFFIXES

    return EXTENSION_SUFFIXES[0]


# Lines of /proc/cpuinfo that say which CPU this is and what it can run (x86 and Arm).
_CPU_LINES = (
    "vendor_id",
    "cpu family",
    "model",
    "flags",
    "Features",
    "CPU implementer",
    "CPU architecture",
    "CPU variant",
    "CPU part",
)


@lru_cache(maxsize=1)
def _machine() -> str:
    """This CPU's model and instruction sets, and the NumPy, Numba and Python it is built with.

    NumPy too: the module is built against its C interface.
    """
    import platform
    from importlib import metadata

    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(_CPU_LINES):
                    cpu += "\n" + line.strip()
                if line.strip() == "":
                    break  # the first processor is enough
    except OSError:
        pass
    versions = []
    for package in ("numba", "numpy"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} none")
    return f"{cpu}|{'|'.join(versions)}|{sys.version}"


def build(path: Path) -> bool:
    """Compile the module to ``path`` in a separate process; on failure leave ``NAME.failed``.

    The separate process keeps Numba out of this one; it imports this very copy of the package
    (first on its path) and refuses to build from another. The module is written under a
    temporary name and moved into place, so a run starting meanwhile sees the whole module or
    none; modules of other versions in the folder are removed then.
    """
    package = Path(__file__).resolve().parent
    search = os.pathsep.join(p for p in (str(package.parent), os.environ.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "crisis_sim.native", str(path), str(package)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": search},
        )
    except OSError as exc:
        _note_failure(path, str(exc))
        return False
    if done.returncode < 0:  # stopped by a signal (Ctrl-C at the terminal): not a failure
        return False
    if done.returncode != 0 or not path.exists():
        _note_failure(path, (done.stderr or done.stdout or "no module written").strip())
        return False
    for old in path.parent.glob(f"{MODULE_PREFIX}*"):
        if old.name != path.name and old.is_file():  # other versions' modules and notes
            old.unlink(missing_ok=True)
    return True


def _note_failure(path: Path, why: str) -> None:
    """Remember for a day, for this version and machine, that the build failed, and why."""
    try:
        path.with_suffix(".failed").write_text((why or "unknown")[-4000:] + "\n", encoding="utf-8")
    except OSError:
        pass


def _compile(path: Path) -> None:
    """Compile every kernel of :data:`EXPORTS` into an extension module at ``path``."""
    import tempfile
    import warnings

    warnings.simplefilter("ignore")  # pycc is marked "pending deprecation" in Numba
    from numba.core import codegen
    from numba.pycc import CC

    # For this CPU's instruction sets as Numba's JIT detects them (pycc would take those the
    # CPU model implies, which a virtual machine may not offer).
    codegen.AOTCPUCodegen._customize_tm_features = (  # type: ignore[method-assign]
        lambda self: self._get_host_cpu_features()
    )
    name = path.name[: -len(_extension_suffix())]
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".build-") as tmp:
        cc = CC(name)
        cc.output_dir = tmp
        cc.target_cpu = "host"
        cc.verbose = False
        for kernel, (module, signature) in EXPORTS.items():
            py_func = getattr(import_module(f"crisis_sim.{module}"), kernel).py_func
            cc.export(kernel, signature)(py_func)
        cc.compile()
        built = Path(tmp) / path.name
        os.replace(built, path)


@cache
def _load(path: Path) -> Any:
    """Import the extension module at ``path`` (once per process)."""
    from importlib.machinery import ExtensionFileLoader
    from importlib.util import module_from_spec, spec_from_file_location

    name = path.name[: -len(_extension_suffix())]
    spec = spec_from_file_location(name, path, loader=ExtensionFileLoader(name, str(path)))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def arguments(signature: str) -> list[str]:
    """The argument types of a signature of :data:`EXPORTS`, as written."""
    head = signature.index(")(") + 2 if ")(" in signature else signature.index("(") + 1
    args = signature[head:-1]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    if args.strip():
        parts.append(args[start:].strip())
    return parts


def _arrays(args: list[str]) -> list[tuple[int, np.dtype[Any], int, bool, str]]:
    """(position, dtype, dimensions, contiguous, as written) of each array argument."""
    found: list[tuple[int, np.dtype[Any], int, bool, str]] = []
    for pos, text in enumerate(args):
        m = _ARRAY.match(text)
        if m:
            dims = m.group(2).split(",")
            found.append((pos, _DTYPES[m.group(1)], len(dims), dims[-1].strip() == "::1", text))
    return found


def _checked(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` refusing arrays of another type, shape or layout than it was compiled for."""
    args = arguments(EXPORTS[name][1])
    arrays, count = _arrays(args), len(args)

    def call(*args: Any) -> Any:
        if len(args) != count:
            raise TypeError(f"{name}: {len(args)} arguments given, it takes {count}")
        for pos, dtype, ndim, contiguous, text in arrays:
            a = args[pos]
            if (
                type(a) is not np.ndarray
                or a.ndim != ndim
                or (a.dtype is not dtype and a.dtype != dtype)
                or (contiguous and not a.flags.c_contiguous)
            ):
                raise TypeError(f"{name}: argument {pos} is {_describe(a)}, it takes {text}")
        return fn(*args)

    call.__name__ = name
    return call


def _describe(a: Any) -> str:
    if isinstance(a, np.ndarray):
        layout = "contiguous" if a.flags.c_contiguous else "strided"
        return f"a {a.ndim}-d {layout} {a.dtype} array"
    return type(a).__name__


if __name__ == "__main__":  # the separate build process of :func:`build`
    here = Path(__file__).resolve().parent
    if len(sys.argv) > 2 and Path(sys.argv[2]) != here:
        sys.exit(f"asked to build for the package in {sys.argv[2]}, found {here}")
    _compile(Path(sys.argv[1]))
