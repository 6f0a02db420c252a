"""The HDF5 result file: create, commit a chunk, resume, append, read back.

Layout (readable with ``xarray.open_dataset(path, group="runs", engine="h5netcdf")``): root
attributes describe the run (scenario, seed, versions, ``complete``); group ``runs`` holds one
variable per record with dimensions ``run``, ``state`` and ``institution`` (HDF5 dimension
scales), missing values marked by ``_FillValue``.

Every dataset is allocated when the file is created, so writing a chunk changes raw data only,
never the file's structure: a process killed at any moment leaves a readable file. A chunk
counts only once its ``committed`` flags are written, after its data were flushed.

The per-replication records are filled with their fill values at creation, so a replication
not committed (an interrupted run) reads as missing. The per-state and per-institution records
(86% of the bytes) are not: their disk space is reserved (``posix_fallocate``) but not written,
and until a replication is committed they read as zeros (or as rows a local worker wrote in
place, :mod:`crisis_sim.placement`, whose chunk was not committed). Filling them would write
the whole file twice (2.3 GB for 10^7 replications: 2-8 s during which the workers waited for
the file). Where space cannot be reserved that way (macOS, Windows) every record is filled,
as a full disk must show at creation.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np

from crisis_sim import files
from crisis_sim.errors import StoreError, fits_one_file
from crisis_sim.errors import file_error_reason as _reason
from crisis_sim.outcomes import OUTCOMES, REASONS, SIDES
from crisis_sim.placement import Placement, Record
from crisis_sim.rules import VOTE_MEANINGS

FORMAT = "crisis_sim.runs/1"
SWEEP_FORMAT = "crisis_sim.sweep/1"
LEVELS = ("none", "condemnation", "sanctions", "military")


@dataclass(frozen=True)
class Field:
    """One record of a replication: shape, type, fill value and what it means."""

    dims: tuple[str, ...]
    dtype: str
    fill: int | float
    doc: str
    units: str = ""
    meanings: tuple[str, ...] = ()


def _flag(meanings: tuple[str, ...], doc: str, dims: tuple[str, ...] = ("run",)) -> Field:
    return Field(dims, "i1", -1, doc, meanings=meanings)


R, RS, RI = ("run",), ("run", "state"), ("run", "institution")
# Whether this system can reserve a file's disk space without writing it (not macOS, Windows).
CAN_RESERVE = hasattr(os, "posix_fallocate")
FIELDS: dict[str, Field] = {
    "deterred": Field(R, "i1", -1, "1 if the aggressor did not attack", meanings=("false", "true")),
    "outcome": _flag(OUTCOMES, "how the crisis ended"),
    "p_win_estimate": Field(
        R, "f4", np.nan, "aggressor's estimated chance of winning", "probability"
    ),
    "attack_day": Field(R, "i2", -1, "day of the attack (fill: deterred)", "day"),
    "end_day": Field(R, "i2", -1, "day the crisis ended (horizon if still fighting)", "day"),
    "target_fell_day": Field(R, "i2", -1, "day the target's side broke", "day"),
    "aggressor_quit": Field(
        R, "i1", -1, "1 if the aggressor quit an organization", meanings=("false", "true")
    ),
    "n_belligerents": Field(R, "i2", -1, "states at war, both sides, parties included", "states"),
    "n_cascade_entries": Field(R, "i2", -1, "states brought in by treaties or invasion", "states"),
    "losses_aggressor": Field(R, "f4", np.nan, "aggressor side's losses", "capability share"),
    "losses_defenders": Field(R, "f4", np.nan, "defending side's losses", "capability share"),
    "referral_day": Field(RI, "i2", -1, "day the crisis reached the institution", "day"),
    "decision_day": Field(RI, "i2", -1, "day of the institution's last vote", "day"),
    "vote_result": _flag(VOTE_MEANINGS, "result of the institution's last vote", RI),
    "vetoed_by": Field(RI, "i2", -1, "index (state dimension) of the member that vetoed"),
    "response_level": _flag(LEVELS, "highest response the institution adopted", RI),
    "capability": Field(RS, "f4", np.nan, "capability drawn for this replication", "CINC share"),
    "side": _flag(SIDES, "side the state fought on", RS),
    "entry_day": Field(RS, "i2", -1, "day the state entered the war", "day"),
    "arrival_day": Field(RS, "i2", -1, "day its first forces reached the theatre", "day"),
    "entry_reason": _flag(REASONS, "why the state entered the war", RS),
}

# Per-replication records, committed by the run's process; the wide (per-state and
# per-institution) ones, which a local worker may write into the file itself.
PER_RUN = tuple(name for name, spec in FIELDS.items() if spec.dims == R)
WIDE = tuple(name for name, spec in FIELDS.items() if spec.dims != R)


def versions() -> dict[str, str]:
    """Versions of the package and of the libraries that decide the numbers."""
    out = {}
    for name in ("crisis-sim", "numpy", "numba", "simpy", "h5py"):
        try:
            out[name.replace("-", "_") + "_version"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name.replace("-", "_") + "_version"] = "unknown"
    return out


def create(
    path: Path,
    *,
    scenario_json: str,
    seed: int,
    n_runs: int,
    states: list[str],
    institutions: list[str],
    overwrite: bool = False,
    extra: dict[str, Any] | None = None,
    arrangements: list[str] | None = None,
) -> None:
    """Create an empty result file (written beside the target, then moved into place).

    With ``arrangements``, a comparison file: every record gains a leading ``arrangement``.
    """
    path = Path(path)
    comparing = arrangements is not None
    kind = "comparison file" if comparing else "result file"
    files.refuse_existing(path, overwrite, can_append=not comparing, kind=kind)
    with _building(path, kind, overwrite, can_append=not comparing) as f:
        describe_run(f, COMPARE_FORMAT if comparing else FORMAT, seed, n_runs, scenario_json, extra)
        _layout(f.create_group("runs"), n_runs, states, institutions, arrangements=arrangements)


@contextmanager
def _building(
    path: Path, what: str, overwrite: bool = True, can_append: bool = False
) -> Iterator[h5py.File]:
    """A new file, written beside ``path`` under a name of its own and moved into place whole.

    Its space is reserved and it is on disk before the move (a full disk shows here, not
    halfway through a run; a power cut cannot leave an empty file under the name); whatever
    fails, or a Ctrl-C, leaves nothing half-made behind. Without ``overwrite`` it takes the
    name only if no other process took it meanwhile (two runs started at once on one new
    file: the second is refused, never replaced).
    """
    try:
        tmp = files.temporary_beside(path, ".tmp")
    except OSError as exc:  # a folder it cannot write in, a full disk
        raise StoreError(f"{path}: cannot create {what}: {_reason(exc)}") from None
    try:
        with _new_file(tmp) as f:
            yield f
        _reserve(tmp)
        files.publish(tmp, path, overwrite)
        _made[os.path.abspath(path)] = _identity(os.stat(path))
    except FileExistsError:
        files.remove(tmp)
        raise files.taken(path, can_append) from None
    except (OSError, RuntimeError) as exc:
        files.remove(tmp)
        raise StoreError(f"{path}: cannot create {what}: {_reason(exc)}") from None
    except BaseException:
        files.remove(tmp)
        raise


# The files this process made, by absolute name, and which file (device, inode) each is: a run
# then writes into the file it made, not into one another run put under that name meanwhile.
_made: dict[str, tuple[int, int]] = {}


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _synced(f: h5py.File) -> None:
    """Write what HDF5 has flushed of ``f`` to disk, workers' writes into it included.

    A chunk's records reach the disk before its ``committed`` flags are written, so a power
    cut cannot leave a replication marked written without its records.
    """
    f.flush()
    try:
        fd = f.id.get_vfd_handle()
    except (RuntimeError, ValueError, TypeError):
        return  # not a plain POSIX file: HDF5's flush is all there is
    os.fdatasync(fd)


def _layout(
    g: h5py.Group,
    n_runs: int,
    states: list[str],
    institutions: list[str],
    points: int = 0,
    arrangements: list[str] | None = None,
) -> dict[str, h5py.Dataset]:
    """Datasets of every record, with a leading dimension for several sets of replications.

    ``points`` > 0 gives a sweep's ``point`` (numbered); ``arrangements``, a comparison's
    ``arrangement`` (named).
    """
    sizes = {"run": n_runs, "state": len(states), "institution": len(institutions), "point": points}
    lead: tuple[str, ...] = ("point",) if points else ()
    scales = {
        "run": _numbered(g, "run", n_runs),
        "state": _labels(g, "state", states),
        "institution": _labels(g, "institution", institutions),
    }
    if points:
        scales["point"] = g.create_dataset("point", data=np.arange(points, dtype=np.int64))
    if arrangements is not None:
        lead, sizes["arrangement"] = ("arrangement",), len(arrangements)
        scales["arrangement"] = _labels(g, "arrangement", arrangements)
    for name, ds in scales.items():
        ds.make_scale(name)
    for name, spec in {
        **FIELDS,
        "committed": Field(R, "u1", 0, "1 once the replication is written"),
    }.items():
        spec = Field(
            (*lead, *spec.dims), spec.dtype, spec.fill, spec.doc, spec.units, spec.meanings
        )
        shape = tuple(sizes[d] for d in spec.dims)
        # Per-replication records are filled at creation, so an unwritten replication reads as
        # missing; the per-state and per-institution ones (86% of the bytes) only where the
        # file's space can be reserved without writing it (module's notes).
        per_run = spec.dims == (*lead, "run")
        ds = g.create_dataset(
            name,
            shape=shape,
            dtype=spec.dtype,
            fillvalue=spec.fill,
            fill_time="alloc" if per_run or not CAN_RESERVE else "never",
            dcpl=_early(),
        )
        for i, d in enumerate(spec.dims):
            ds.dims[i].attach_scale(scales[d])
        describe(ds, spec, fill=name != "committed")  # committed 0 is a value, not a gap
    return scales


def _reserve(path: Path) -> None:
    """Reserve the disk space of the whole file now, without writing it.

    The large datasets are allocated but not filled (see the module's notes), so the file is
    sparse; reserving its blocks keeps a full disk an error at creation, not halfway through a
    run. Where it cannot be done, every dataset was filled instead, which reserves as well.
    """
    if not CAN_RESERVE:
        return
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise  # a full disk or a file size limit: the caller reports it
    finally:
        os.close(fd)


def _labels(g: h5py.Group, name: str, labels: list[str]) -> h5py.Dataset:
    """A coordinate of names (states, institutions, arrangements)."""
    return g.create_dataset(name, data=np.array(labels, dtype=object), dtype=h5py.string_dtype())


def _numbered(g: h5py.Group, name: str, n: int, block: int = 1 << 20) -> h5py.Dataset:
    """A coordinate 0 .. n - 1, written a block at a time (memory stays flat for any n)."""
    ds = g.create_dataset(name, shape=(n,), dtype=np.int64)
    for a in range(0, n, block):
        ds[a : min(n, a + block)] = np.arange(a, min(n, a + block), dtype=np.int64)
    return ds


def describe(ds: h5py.Dataset, spec: Field, fill: bool = True) -> None:
    """Write a record's CF-style attributes: fill value, meaning, units, flag meanings."""
    if fill:
        ds.attrs["_FillValue"] = np.array(spec.fill, dtype=spec.dtype)
    ds.attrs["long_name"] = spec.doc
    if spec.units:
        ds.attrs["units"] = spec.units
    if spec.meanings:
        ds.attrs["flag_values"] = np.arange(len(spec.meanings), dtype=spec.dtype)
        ds.attrs["flag_meanings"] = " ".join(spec.meanings)


def describe_run(
    f: h5py.File, fmt: str, seed: int, n_runs: int, scenario_json: str, extra: dict[str, Any] | None
) -> None:
    """Root attributes: enough to replay the run (scenario, seed, versions) and its state."""
    attrs = {
        "format": fmt,
        "seed": int(seed),
        "n_runs": int(n_runs),
        "scenario": scenario_json,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "complete": 0,
        **versions(),
        **(extra or {}),
    }
    for k, v in attrs.items():
        f.attrs[k] = v


def _early() -> h5py.h5p.PropDCID:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    return dcpl


def _unbuffered() -> h5py.h5p.PropFAID:
    """File access without a sieve buffer, for every file this module writes.

    HDF5 buffers small raw-data writes and reports a failed write (a full disk) only when the
    dataset is closed, where h5py can merely print it, and the process may crash at exit.
    Without that buffer the write itself fails, where it is made.
    """
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
    fapl.set_sieve_buf_size(0)
    return fapl


def _new_file(path: Path) -> h5py.File:
    """Create (or truncate) a file to be filled in (at creation, the per-replication fills)."""
    fapl = _unbuffered()
    fapl.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_V18)
    return h5py.File(h5py.h5f.create(os.fsencode(path), h5py.h5f.ACC_TRUNC, fapl=fapl))


def open_for_writing(path: Path) -> h5py.File:
    """Open an existing file read-write, locked against other writers, without a sieve buffer.

    A failed write then fails before its chunk is marked committed (see :func:`_unbuffered`).
    """
    files.refuse_special(path)
    fapl = _unbuffered()
    if hasattr(fapl, "set_file_locking"):
        fapl.set_file_locking(True, True)
    return h5py.File(h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDWR, fapl=fapl))


def open_for_reading(path: Path) -> h5py.File:
    """Open a result file read-only, beside a run that may be writing it (no lock taken).

    Never a named pipe or a device: HDF5 would wait on one for ever.
    """
    files.refuse_special(path)
    return h5py.File(path, "r", locking=False)


class _Writer:
    """An open result or sweep file, locked for this one writer; subclasses commit chunks."""

    kind = "result"
    fmt = FORMAT

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.file = open_for_writing(self.path)
        except FileNotFoundError:
            raise StoreError(f"{self.path}: no such {self.kind} file") from None
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"{self.path}: cannot open for writing: {_reason(exc)}") from None
        try:
            check_ours(self.file, self.path, self.fmt)
            self._check_made_here()
        except StoreError:
            self.file.close()
            raise
        self.runs = self.file["runs"]
        self._open: dict[str, h5py.Dataset] | None = None

    def missing(self) -> list[Any]:
        """What is not yet committed."""
        raise NotImplementedError

    def _datasets(self) -> dict[str, h5py.Dataset]:
        """The records' datasets, opened once (a lookup by name costs as much as a write)."""
        if self._open is None:
            self._open = {name: self.runs[name] for name in (*FIELDS, "committed")}
        return self._open

    def finish(self) -> bool:
        """Mark the file complete if everything is committed.

        Refused if ``path`` no longer names the file written (moved or replaced meanwhile):
        the run must not say it wrote results that are not there.
        """
        self._check_still_named()
        complete = not self.missing()
        try:
            self.file.attrs["complete"] = int(complete)
            self.file.flush()
        except (OSError, RuntimeError) as exc:
            raise StoreError(
                f"{self.path}: cannot mark the file complete: {_reason(exc)}; every "
                "replication is written, run --resume to finish"
            ) from None
        return complete

    def _opened(self) -> tuple[int, int] | None:
        """Which file (device, inode) HDF5 has open; None if not a plain POSIX file."""
        try:
            return _identity(os.fstat(self.file.id.get_vfd_handle()))
        except (OSError, RuntimeError, ValueError, TypeError):
            return None

    def _check_made_here(self) -> None:
        """Refuse a file another run put under the name since this process made its own."""
        made = _made.pop(os.path.abspath(self.path), None)
        opened = self._opened()
        if made is not None and opened is not None and opened != made:
            raise StoreError(
                f"{self.path}: another run replaced the file this run had just made (at the "
                "same time, with --overwrite?); nothing was written, run this again"
            )

    def _check_still_named(self) -> None:
        mine = self._opened()
        if mine is None:
            return  # nothing to compare
        try:
            named: tuple[int, int] | None = _identity(os.stat(self.path))
        except OSError:
            named = None
        if named != mine:
            raise StoreError(
                f"{self.path}: the file was moved or replaced while this run wrote it; "
                "its results are not under that name"
            )

    def close(self) -> None:
        """Close the file (flushes)."""
        if self.file.id.valid:
            self.file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ResultWriter(_Writer):
    """Commits chunks to an existing result file: every chunk counts only once committed here.

    The per-replication records are written here; the wide ones too, unless a local worker
    wrote them into the file itself (:meth:`placement`).
    """

    _placed = False  # whether workers were told where to write the wide records

    def missing(self) -> list[tuple[int, int]]:
        """Ranges of replications not yet committed."""
        return _uncommitted(self.runs["committed"])

    def placement(self) -> Placement | None:
        """Where this file keeps its wide records, for workers on this machine to write them.

        None unless every wide record is a contiguous, allocated dataset of its native type:
        then its rows lie at a fixed place in the file (see :mod:`crisis_sim.placement`).
        """
        if not hasattr(os, "pwrite"):  # Windows: chunks come back whole
            return None
        records = []
        for name in WIDE:
            ds = self.runs[name]
            offset = ds.id.get_offset()
            contiguous = ds.id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS
            if offset is None or not contiguous or ds.dtype != np.dtype(FIELDS[name].dtype):
                return None
            row_bytes = ds.dtype.itemsize * int(np.prod(ds.shape[1:]))
            records.append(Record(name, int(offset), row_bytes, ds.dtype.str))
        try:  # the file HDF5 has open, not whatever the path names now
            st = os.fstat(self.file.id.get_vfd_handle())
        except (OSError, RuntimeError, ValueError, TypeError):
            return None  # not a plain POSIX file: chunks come back whole
        self._placed = True
        return Placement(os.path.abspath(self.path), st.st_dev, st.st_ino, tuple(records))

    def commit(self, start: int, arrays: dict[str, np.ndarray]) -> None:
        """Write one chunk, flush, then mark it committed and flush again.

        A chunk without its wide records had them written into this file by a worker
        (:meth:`placement`); they are in the file already and count from this commit on.
        """
        stop = start + len(arrays["outcome"])
        wide = [name in arrays for name in WIDE]
        if all(wide):
            names = tuple(FIELDS)
        elif not any(wide) and self._placed:
            names = PER_RUN
        else:
            raise StoreError(
                f"{self.path}: replications {start}..{stop - 1} came without their per-state "
                "records, and no worker was told where to write them"
            )
        datasets = self._datasets()
        try:
            for name in names:
                datasets[name][start:stop] = np.asarray(arrays[name]).astype(
                    FIELDS[name].dtype, copy=False
                )
            _synced(self.file)  # the records on disk before the flags that count them
            datasets["committed"][start:stop] = 1
            self.file.flush()
        except (OSError, RuntimeError) as exc:
            raise StoreError(
                f"{self.path}: cannot write replications {start}..{stop - 1}: "
                f"{_reason(exc)}; chunks committed before are intact"
            ) from None


def written(
    path: Path, runs: dict[str, np.ndarray], purpose: str, command: str = "run"
) -> np.ndarray:
    """Which replications of a file are written (its ``committed`` record, as read).

    Refuses a file with none: there is nothing ``purpose`` (to summarize, to draw) yet;
    ``command`` is the one that finishes the file (``run``, ``sweep``).
    """
    ok = runs["committed"].astype(bool)
    if not ok.any():
        raise StoreError(
            f"{path}: no replication is written yet, nothing {purpose}; finish it with "
            f"'{files.resume_command(path, command)}'"
        )
    return ok


# Replications whose ``committed`` flags are read at once when looking for what is missing.
MISSING_BLOCK = 1 << 20


def _uncommitted(committed: h5py.Dataset, block: int = MISSING_BLOCK) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of uncommitted replications, reading ``block`` at a time.

    Read whole, the flags of 10^7 replications and their temporaries took ~50 MB at the moment
    a run starts, when its workers are at their largest too.
    """
    found: list[tuple[int, int]] = []
    for a in range(0, committed.shape[0], block):
        for s, e in _ranges(committed[a : a + block] == 0):
            if found and found[-1][1] == a + s:  # a run going on from the block before
                found[-1] = (found[-1][0], a + e)
            else:
                found.append((a + s, a + e))
    return found


def _uncommitted_points(
    committed: h5py.Dataset, block: int = MISSING_BLOCK
) -> list[tuple[int, int, int]]:
    """``(point, start, stop)`` of each run of uncommitted replications of a sweep.

    Reads whole points' flags a few at a time (about ``block`` flags), as :func:`_uncommitted`
    does for a single run.
    """
    points, runs = committed.shape
    step = max(1, block // max(1, runs))
    found: list[tuple[int, int, int]] = []
    for p0 in range(0, points, step):
        todo = committed[p0 : p0 + step] == 0
        found += [(p0 + k, a, b) for k in range(todo.shape[0]) for a, b in _ranges(todo[k])]
    return found


def _ranges(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True (one byte per replication, whatever the size)."""
    if not mask.any():
        return []
    zero = np.zeros(1, dtype=np.int8)
    edges = np.diff(np.concatenate((zero, mask.astype(np.int8), zero)))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


# The comparison of arrangements (``crisis_sim.compare``) writes files of this format.
COMPARE_FORMAT = "crisis_sim.compare/1"


# What each kind of file is; how to read one given where another kind is expected; and the
# command that makes each kind.
KINDS = {
    FORMAT: "a single run",
    SWEEP_FORMAT: "a parameter sweep",
    COMPARE_FORMAT: "a comparison of arrangements",
}
READ_WITH = {
    SWEEP_FORMAT: "read it with 'crisis-sim plot --kind sweep' (and, for a sobol or morris "
    "design, 'crisis-sim sensitivity'); 'sweep --resume' finishes an interrupted one",
    COMPARE_FORMAT: "crisis-sim compare --resume {out} prints its table again (with --plot "
    "FIG, its figure) and finishes an interrupted one; xarray reads it (group 'runs', "
    "dimension 'arrangement')",
}
MADE_BY = {FORMAT: "run", SWEEP_FORMAT: "sweep", COMPARE_FORMAT: "compare"}


def unreadable(
    path: Path, exc: BaseException, doing: str = "not a readable HDF5 file"
) -> StoreError:
    """The error for a result file that cannot be read: what went wrong, in a few words.

    A file that is not HDF5 at all is said so the same way by every command.
    """
    reason = _reason(exc)
    if reason == "not an HDF5 file":
        return StoreError(f"{path}: not an HDF5 file, so not a crisis_sim result file")
    return StoreError(f"{path}: {doing}: {reason}")


def check_ours(f: h5py.File, path: Path, fmt: str = FORMAT, expected: str | None = None) -> None:
    """Refuse files that are not crisis_sim files of the kind ``fmt``, naming what they are.

    ``expected``: what the command takes, in words, where it is more than ``fmt`` (``plot``
    draws single runs and sweeps).
    """
    found = f.attrs.get("format")
    if found in KINDS and found != fmt:
        expected = expected or KINDS[fmt]
        if found in READ_WITH and fmt != COMPARE_FORMAT:
            hint = READ_WITH[found].format(out=files.out_option(path))
        else:
            hint = f"make one with 'crisis-sim {MADE_BY[fmt]}'"
        raise StoreError(f"{path}: {KINDS[found]}, not {expected}; {hint}")
    if found != fmt or "runs" not in f:
        raise StoreError(f"{path}: not a crisis_sim result file (no '{fmt}' format attribute)")
    _check_stored_json(f, path, "scenario", "the stored scenario", dict)
    if fmt == SWEEP_FORMAT:
        _check_stored_json(f, path, "ranges", "the stored parameter ranges", list)
    _check_layout(f, path, fmt)


def _check_layout(f: h5py.File, path: Path, fmt: str) -> None:
    """Refuse a file whose numbers every reader relies on are missing or damaged.

    The root's seed, size and completeness, and each record with one row per replication (per
    point and replication in a sweep): metadata only, nothing read. A file damaged there used
    to end in a traceback in whichever command met it first.
    """
    keys = ("seed", "n_runs", "complete", *(("design",) if fmt == SWEEP_FORMAT else ()))
    for key in keys:
        value = f.attrs.get(key)
        ok = isinstance(value, str) if key == "design" else _whole_number(value)
        if not ok:
            kind = "a text" if key == "design" else "a whole number"
            shown = "missing" if value is None else f"{value!r} is not {kind}"
            raise StoreError(f"{path}:{key}: the file is damaged ({shown})")
    n_runs = int(f.attrs["n_runs"])
    if n_runs < 0 or int(f.attrs["seed"]) < 0:
        raise StoreError(f"{path}: the file is damaged (negative seed or n_runs)")
    runs = f["runs"]
    axis = 0 if fmt == FORMAT else 1  # sweeps and comparisons: (point or arrangement, run, ...)
    for name in (*FIELDS, "committed"):
        ds = runs.get(name)
        if not isinstance(ds, h5py.Dataset):
            raise StoreError(f"{path}:runs/{name}: the file is damaged (record missing)")
        if ds.ndim <= axis or ds.shape[axis] != n_runs:
            raise StoreError(
                f"{path}:runs/{name}: the file is damaged ({ds.shape} rows for n_runs = {n_runs})"
            )


def _whole_number(value: Any) -> bool:
    """Whether an attribute holds an integer (HDF5 gives NumPy scalars, or arrays of one)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_stored_json(f: h5py.File, path: Path, key: str, what: str, kind: type) -> None:
    """Refuse a file whose JSON attribute ``key`` is missing or damaged, before anyone reads it.

    Commands that read the attribute can then rely on the keys checked here (a damaged one
    used to end in a traceback in ``plot`` and ``sensitivity``).
    """
    try:
        value: Any = json.loads(str(f.attrs[key]))
    except (KeyError, ValueError):
        value = None
    if kind is dict:  # a scenario: what every reader takes from it
        whole = isinstance(value, dict) and {"name", "aggressor", "target"} <= value.keys()
    else:  # parameter ranges: each one a table of what plots and SALib read
        needed = {"name", "kind", "low", "high", "unit", "meaning"}
        whole = isinstance(value, list) and all(
            isinstance(r, dict) and needed <= r.keys() for r in value
        )
    if not whole:
        raise StoreError(f"{path}:{key}: {what} is damaged (not the JSON of this file's {key})")


def read_info(path: Path) -> dict[str, Any]:
    """Root attributes of a result file, checked to be ours."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such result file")
    try:
        with open_for_reading(path) as f:
            check_ours(f, path)
            info = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
            info["states"] = [
                s.decode() if isinstance(s, bytes) else s for s in f["runs/state"][...]
            ]
            info["institutions"] = [
                s.decode() if isinstance(s, bytes) else s for s in f["runs/institution"][...]
            ]
            info["n_committed"] = int(f["runs/committed"][...].sum())
            return info
    except (OSError, RuntimeError, KeyError) as exc:
        raise unreadable(path, exc) from None


def read_runs(
    path: Path, names: list[str] | None = None, rows: slice | None = None
) -> dict[str, np.ndarray]:
    """Load variables (all replications, or ``rows``) of the ``runs`` group into memory.

    The ``committed`` flags are read first (:func:`_flags_first`): a run may be writing the
    file, and a chunk it commits meanwhile then counts as not written, instead of as written
    with the fill values read before its records arrived.
    """
    path = Path(path)
    try:
        with open_for_reading(path) as f:
            check_ours(f, path)
            keys = _flags_first(names or [*FIELDS, "committed"])
            sel = rows if rows is not None else slice(None)
            return {k: f["runs"][k][sel] for k in keys}
    except (OSError, RuntimeError, KeyError) as exc:
        raise StoreError(f"{path}: cannot read results: {_reason(exc)}") from None


def _flags_first(names: list[str]) -> list[str]:
    """``names`` with ``committed`` first (the order records are read in while a run writes)."""
    return sorted(names, key=lambda k: k != "committed")  # stable: the rest keep their order


def grow(path: Path, extra_runs: int) -> int:
    """Make room for ``extra_runs`` more replications (for ``--append``); returns the old size.

    The bigger file is built beside the old one and moved over it in one step, so the old
    results are never at risk; the new replications are then uncommitted, as for ``--resume``.
    """
    path = Path(path)
    info = read_info(path)
    files.refuse_if_in_use(path)
    old = int(info["n_runs"])
    fits_one_file(f"--append {extra_runs}", old + extra_runs)
    try:
        tmp = files.temporary_beside(path, ".grow")
    except OSError as exc:
        raise StoreError(f"{path}: cannot append: {_reason(exc)}; the file is unchanged") from None
    keep = {
        k: v
        for k, v in info.items()
        if k
        not in (
            "states",
            "institutions",
            "n_committed",
            "n_runs",
            "seed",
            "scenario",
            "created",
            "complete",
            "format",
        )
    }
    # The version attributes stay those of the first replications; each append records the
    # versions of the process that made room for its replications (a later --resume may
    # compute some of them).
    try:
        appends = json.loads(str(keep.get("appends", "[]")))
    except ValueError:
        appends = None
    if not isinstance(appends, list):
        raise StoreError(f"{path}:appends: the record of earlier appends is damaged")
    appends.append(
        {
            "first_run": old,
            "runs": int(extra_runs),
            "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **versions(),
        }
    )
    keep["appends"] = json.dumps(appends)
    try:
        create(
            tmp,
            scenario_json=str(info["scenario"]),
            seed=int(info["seed"]),
            n_runs=old + extra_runs,
            states=info["states"],
            institutions=info["institutions"],
            overwrite=True,
            extra=keep,
        )
    except StoreError as exc:
        files.remove(tmp)
        raise StoreError(
            f"{path}: cannot append: {str(exc).split(': ')[-1]}; the file is unchanged"
        ) from None
    _made.pop(os.path.abspath(tmp), None)  # opened below by name, then moved over ``path``
    swapped = False
    try:
        with h5py.File(path, "r", locking=True) as src, open_for_writing(tmp) as dst:
            step = 1 << 20
            for a in range(0, old, step):
                b = min(old, a + step)
                for name in [*FIELDS, "committed"]:
                    dst["runs"][name][a:b] = src["runs"][name][a:b]
            dst.attrs["created"] = src.attrs["created"]
            _synced(dst)  # on disk before it takes the old file's name
            # Swapped in while both locks are held: no writer (a --resume) can open the old
            # file between the copy and the swap and commit chunks the swap would discard.
            os.replace(tmp, path)
            swapped = True
            files.sync_folder(path.parent)
    except (OSError, RuntimeError) as exc:
        if swapped:  # only closing failed, after the data was flushed and swapped in
            raise StoreError(
                f"{path}: appended, but closing the file failed: {_reason(exc)}; "
                f"check it with 'crisis-sim summarize {path}'"
            ) from None
        files.remove(tmp)
        raise StoreError(f"{path}: cannot append: {_reason(exc)}; the file is unchanged") from None
    except BaseException:
        if not swapped:
            files.remove(tmp)
        raise
    return old


# --------------------------------------------------------------------------- parameter sweeps


def create_sweep(
    path: Path,
    *,
    scenario_json: str,
    seed: int,
    n_runs: int,
    states: list[str],
    institutions: list[str],
    parameters: dict[str, np.ndarray],
    sample: np.ndarray,
    overwrite: bool = False,
    extra: dict[str, Any] | None = None,
) -> None:
    """Create an empty sweep file: the single-run layout with a leading ``point`` dimension.

    ``parameters`` maps each swept name to its value at every point (a coordinate of every
    record); ``sample`` is the design's raw matrix (point × parameter), kept for SALib.
    """
    path = Path(path)
    # in use: refused too
    files.refuse_existing(path, overwrite, can_append=False, kind="sweep file")
    n_points = len(sample)
    with _building(path, "sweep file", overwrite) as f:
        describe_run(
            f,
            SWEEP_FORMAT,
            seed,
            n_runs,
            scenario_json,
            {"n_points": int(n_points), **(extra or {})},
        )
        g = f.create_group("runs")
        scales = _layout(g, n_runs, states, institutions, points=n_points)
        names = list(parameters)
        par = _labels(g, "parameter", names)
        par.make_scale("parameter")
        raw = g.create_dataset("sample", data=np.asarray(sample, dtype=np.float64))
        raw.dims[0].attach_scale(scales["point"])
        raw.dims[1].attach_scale(par)
        raw.attrs["long_name"] = "design sample before rounding (for SALib)"
        for name, values in parameters.items():
            ds = g.create_dataset(name, data=np.asarray(values, dtype=np.float64))
            ds.dims[0].attach_scale(scales["point"])
            ds.attrs["long_name"] = f"value of {name} at each point"
        coords = " ".join(names)
        for name in [*FIELDS, "committed"]:
            g[name].attrs["coordinates"] = coords


class SweepWriter(_Writer):
    """Commits chunks of sweep points to an existing sweep file; the only writer of a sweep."""

    kind = "sweep"
    fmt = SWEEP_FORMAT
    lead = "point"  # the leading dimension, as error messages name it

    def missing(self) -> list[tuple[int, int, int]]:
        """``(point, start, stop)`` of replications not yet committed."""
        return _uncommitted_points(self.runs["committed"])

    def commit(self, point: int, start: int, arrays: dict[str, np.ndarray]) -> None:
        """Write one chunk of one point, flush, then mark it committed and flush again."""
        self.commit_many([(point, start, arrays)])

    def commit_many(self, chunks: list[tuple[int, int, dict[str, np.ndarray]]]) -> None:
        """Write several chunks, flush once, then mark them all committed and flush again.

        Sweeps with few replications per point make many small chunks; two flushes per chunk
        would then cost more than the simulation.
        """
        if not chunks:
            return
        datasets = self._datasets()
        try:
            for point, start, arrays in chunks:
                stop = start + len(arrays["outcome"])
                for name, spec in FIELDS.items():
                    chunk = np.asarray(arrays[name]).astype(spec.dtype, copy=False)
                    datasets[name][point, start:stop] = chunk
            _synced(self.file)  # the records on disk before the flags that count them
            for point, start, arrays in chunks:
                datasets["committed"][point, start : start + len(arrays["outcome"])] = 1
            self.file.flush()
        except (OSError, RuntimeError) as exc:
            where = ", ".join(f"{self.lead} {p} from replication {a}" for p, a, _ in chunks)
            raise StoreError(
                f"{self.path}: cannot write {where}: {_reason(exc)}; chunks "
                "committed before are intact"
            ) from None


def read_sweep(
    path: Path, names: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Root attributes, parameter values and records (``names``, default all) of a sweep file."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such sweep file")
    try:
        with open_for_reading(path) as f:
            check_ours(f, path, SWEEP_FORMAT)
            g = f["runs"]
            info = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
            for key, scale in (
                ("parameters", "parameter"),
                ("states", "state"),
                ("institutions", "institution"),
            ):
                info[key] = [s.decode() if isinstance(s, bytes) else s for s in g[scale][...]]
            data = {k: g[k][...] for k in _flags_first(names or [*FIELDS, "committed"])}
            data["sample"] = g["sample"][...]
            for p in info["parameters"]:
                data[p] = g[p][...]
            return info, data
    except (OSError, RuntimeError, KeyError) as exc:
        raise unreadable(path, exc, "cannot read sweep") from None


# --------------------------------------------------------------------------- comparisons


class CompareWriter(SweepWriter):
    """Commits chunks of each arrangement to a comparison file; the only writer of one.

    An arrangement's variant holds only some of the scenario's institutions: its records go to
    their columns (``columns[k]`` for arrangement ``k``), the others stay missing.
    """

    kind = "comparison"
    fmt = COMPARE_FORMAT
    lead = "arrangement"

    def __init__(self, path: Path, columns: list[np.ndarray]) -> None:
        super().__init__(path)
        if "committed" not in self.runs:
            self.close()
            raise StoreError(
                f"{self.path}: written by a version of crisis_sim that kept no 'committed' "
                "record, so it cannot be resumed; run the comparison again with --overwrite"
            )
        self.columns = columns
        self.n_institutions = int(self.runs["institution"].shape[0])

    def commit_many(self, chunks: list[tuple[int, int, dict[str, np.ndarray]]]) -> None:
        """Widen each chunk's institution records to the file's columns, then commit."""
        super().commit_many([(k, start, self._widen(k, arrays)) for k, start, arrays in chunks])

    def _widen(self, k: int, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = dict(arrays)
        for name, spec in FIELDS.items():
            if spec.dims == ("run", "institution"):
                full = np.full(
                    (len(arrays["outcome"]), self.n_institutions), spec.fill, dtype=spec.dtype
                )
                full[:, self.columns[k]] = arrays[name]
                out[name] = full
        return out
