"""Start-up: whether Numba's cache is warm, and what a process of crisis_sim's own may skip.

The CLI says it is compiling when the cache holds no current kernel; the CLI and its workers
run nothing but crisis_sim's kernels, so they spare themselves Numba's probes for BLAS and CFFI,
and load cached kernels without first preparing to compile anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# The kernels every run calls, and the parallel combat kernel a process with several Numba
# threads launches for cohorts of thousands (a one-process run of the default scenario does; a
# pool worker, given one thread, never does). The parallel random-number kernel runs only for
# batches of over 131,072 numbers, which a default run of 20,000 never draws: counting it would
# announce a compilation on every such run; where it runs, it compiles in about a second.
KERNELS = (
    ("kernel", "advance_war_serial"),
    ("cohort", "capabilities"),
    ("rng", "uniforms_serial"),
)
THREADED_KERNELS = (("kernel", "advance_war"),)


def cache_is_warm(threaded: bool = False) -> bool:
    """True when cached machine code for the kernels a run will call is on disk.

    ``threaded``: whether the run will launch the parallel kernels too (see
    :func:`crisis_sim.runner.threaded`). Numba looks in ``NUMBA_CACHE_DIR`` when it is set,
    else in ``__pycache__`` beside the source, and takes an index only if it was made from the
    source as it is now.
    """
    here = Path(__file__).parent
    custom = os.environ.get("NUMBA_CACHE_DIR")
    folder = Path(custom) if custom else here / "__pycache__"
    if not folder.exists():
        return False
    for module, kernel in KERNELS + (THREADED_KERNELS if threaded else ()):
        source = here / f"{module}.py"
        if not any(_current(f, source) for f in folder.rglob(f"{module}.{kernel}-*.nbi")):
            return False
    return True


def _current(index: Path, source: Path) -> bool:
    """Whether Numba would take this index for the source as it is now.

    Numba stamps an index with the source's SHA-256 (recent versions) or its modification time
    and size, so a source touched but unchanged (a branch checked out and back) stays cached.
    An index that cannot be read so is judged by its age.
    """
    import hashlib
    import pickle

    try:
        with index.open("rb") as f:
            pickle.load(f)  # the Numba version that wrote it
            stamp = pickle.loads(f.read())[0]
    except Exception:  # noqa: BLE001  (any other layout: fall back on the files' ages)
        return index.stat().st_mtime >= source.stat().st_mtime
    st = source.stat()
    return stamp in (hashlib.sha256(source.read_bytes()).digest(), (st.st_mtime, st.st_size))


# Every module with compiled code. Numba inlines functions across them (``libm`` into ``rng``,
# ``kernel`` and ``cohort``; ``rng`` and ``prefetch`` into ``kernel`` and ``cohort``; ``rules``
# into ``cohort``) but judges a cached kernel by its own source file only.
KERNEL_SOURCES = ("libm", "prefetch", "rng", "rules", "kernel", "cohort")
# Modules with no compiled code whose constants the kernels freeze in (``outcomes.Reason`` in
# ``cohort``, the sides, endings and streams of ``codes``): a change to them must clear the
# cache too.
FROZEN_SOURCES = ("codes", "outcomes")
_STAMP = "crisis_sim-kernels.sha256"


def sources_digest() -> str:
    """SHA-256 of every source the kernels are compiled from or freeze constants of."""
    import hashlib

    here = Path(__file__).parent
    return hashlib.sha256(
        b"".join((here / f"{m}.py").read_bytes() for m in KERNEL_SOURCES + FROZEN_SOURCES)
    ).hexdigest()


def forget_stale_kernels(dispatcher: Any) -> None:
    """Delete crisis_sim's cached kernels when any of its compiled sources has changed.

    Numba would otherwise keep using a kernel compiled with an older version of a function it
    inlined from another module (a changed random-number generator under an unchanged combat
    kernel, say) and silently mix old and new code. ``dispatcher`` is any cached kernel of the
    package: it tells where Numba keeps the cache. A stamp beside the cache records the digest
    of all compiled sources; when it differs, the package's cache files go and the next use
    compiles afresh.
    """
    try:
        folder = Path(dispatcher._cache._cache_path)
    except AttributeError:  # no cache, or a Numba that keeps it elsewhere
        return
    digest = sources_digest()
    stamp = folder / _STAMP
    try:
        if stamp.read_text(encoding="ascii") == digest:
            return
    except (OSError, UnicodeDecodeError):
        pass
    try:
        for f in folder.glob("*.nb[ic]"):
            if f.name.split(".")[0] in KERNEL_SOURCES:
                f.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f"{_STAMP}.{os.getpid()}"
        part.write_text(digest, encoding="ascii")
        part.replace(stamp)
    except OSError:
        return  # a read-only cache: Numba then works without it


def no_blas_threads() -> None:
    """Keep NumPy's OpenBLAS from starting threads in this process (unless the user set it).

    No kernel of crisis_sim calls BLAS, yet OpenBLAS starts a thread per core, and a new thread
    spins before it sleeps: in the profile of a 10^6 run, one spun ~0.1 s of CPU while the
    workers were forked and loading their kernels. It must run before NumPy is imported.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def skip_unused_probes() -> None:
    """Spare this process two imports Numba makes at first use, for features no kernel uses.

    - ``scipy.linalg`` (0.3-0.45 s here), only to note whether ``np.dot`` could be compiled;
    - ``cffi`` and its C parser (35-55 ms here, per process), to type CFFI functions.

    No crisis_sim kernel uses linear algebra or CFFI. For processes that run nothing but
    crisis_sim (the CLI, pool workers). Both packages stay importable; Numba checks for linear
    algebra again where it is compiled, so that still works, while CFFI functions would not
    compile in this process. Does nothing once Numba has looked.
    """
    import sys

    for probe, where in (
        ("scipy.linalg.cython_blas", "numba.np.arraymath"),
        ("cffi", "numba.core.typing.cffi_utils"),
    ):
        if where in sys.modules or probe in sys.modules:
            continue
        # For a moment the whole process cannot import it: call this before other threads run.
        sys.modules[probe] = None  # type: ignore[assignment]  # the import now fails at once
        try:
            __import__(where)  # where Numba looks
        except ImportError:
            pass  # a Numba that moved it: it will look in its own way, only slower
        finally:
            del sys.modules[probe]


def load_cached_kernels_lean() -> None:
    """Load cached kernels without first readying Numba to compile everything it knows.

    Before it loads a cached kernel, Numba refreshes its target context: it imports and
    registers the implementation of every function it can compile (about 250 modules; 0.2-0.3 s
    per process here, a sixth to a fifth of a warm run of 1,000 replications). Machine code
    loaded from the cache needs none of that, only Numba's runtime (NRT), which this starts. A
    kernel that is not in the cache compiles as usual: compiling refreshes the context itself. For
    processes that run nothing but crisis_sim (the CLI, pool workers), like
    :func:`skip_unused_probes`. Leaves a Numba laid out otherwise to its own way.
    """
    from numba.core import caching
    from numba.core.runtime import rtsys

    cache: Any = caching.Cache
    if getattr(cache.load_overload, "lean", False):
        return
    if not all(hasattr(cache, a) for a in ("_load_overload", "_guard_against_spurious_io_errors")):
        return

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        rtsys.initialize(target_context)  # what loaded code needs of the refresh
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None  # an I/O error the guard swallowed: Numba then compiles

    load_overload.lean = True  # type: ignore[attr-defined]
    cache.load_overload = load_overload


def untimed_llvm_calls() -> None:
    """Stop Numba from timing every call into LLVM; the timings only feed compile statistics.

    Numba has llvmlite call two functions around each call into LLVM, to broadcast a
    ``numba:llvm_lock`` event that its compile timers listen to. Loading the cached kernels
    makes about 4,000 such calls, and the events cost more than the calls: 30-50 ms of the
    ~200 ms a pool worker takes to load them here. For processes that run nothing but
    crisis_sim (the CLI, pool workers), like :func:`load_cached_kernels_lean`; call it before
    other threads use LLVM. Compiling still works; its statistics then count no time in the
    LLVM lock. Does nothing where Numba or llvmlite are laid out otherwise.
    """
    try:
        import numba.core.base  # noqa: F401  (registers the two functions, once)
        from llvmlite.binding import ffi

        lock = ffi.lib._lock
        callbacks = lock._cblist
        with lock._lock:  # llvmlite's own lock, taken without running the functions
            numbas = [
                c
                for c in callbacks
                if isinstance(c, tuple)
                and len(c) == 2
                and getattr(c[0], "__module__", "") == "numba.core.base"
            ]
            for pair in numbas:
                callbacks.remove(pair)
    except (ImportError, AttributeError, TypeError, ValueError):
        return  # another layout: Numba keeps timing, only slower


def our_kernels_only() -> None:
    """Ready a process that runs nothing but crisis_sim's kernels (the CLI's, a pool worker).

    It skips Numba's probes for BLAS and CFFI (:func:`skip_unused_probes`), loads cached
    kernels without Numba's full refresh (:func:`load_cached_kernels_lean`) and without timing
    each call into LLVM (:func:`untimed_llvm_calls`).
    """
    skip_unused_probes()
    load_cached_kernels_lean()
    untimed_llvm_calls()
