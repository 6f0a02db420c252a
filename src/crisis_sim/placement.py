"""Where a result file keeps its wide records, so that a local worker writes them itself.

The per-state and per-institution records are 86% of a chunk's bytes. Sent back to the run's
process they were pickled, piped, unpickled and written again through HDF5: about a sixth of
the CPU of a two-worker run on two cores. Their datasets are contiguous and allocated when the
file is created, so each one's rows lie at a fixed place in the file; a worker on the same
machine writes its chunk's rows there with plain ``pwrite`` and returns only the
per-replication records. The run's process still commits every chunk (writes those records,
flushes, sets the ``committed`` flags), so a chunk counts only once all of it is in the file.

No HDF5 here: workers import this, not h5py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from crisis_sim.errors import StoreError
from crisis_sim.errors import file_error_reason as _reason


@dataclass(frozen=True)
class Record:
    """One wide record's rows in the file: where the first row starts, bytes per row, type."""

    name: str
    offset: int
    row_bytes: int
    dtype: str


@dataclass(frozen=True)
class Placement:
    """The wide records of one result file, and which file (device, inode) that is."""

    path: str
    device: int
    inode: int
    records: tuple[Record, ...]

    def names(self) -> frozenset[str]:
        """The records a worker writes itself."""
        return frozenset(r.name for r in self.records)


def write_wide(
    place: Placement, start: int, arrays: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Write a chunk's wide records into the file; return the records left to commit.

    Refuses to write into any file but the one the placement describes (replaced since?).
    """
    stop = start + len(arrays["outcome"])
    try:
        fd = os.open(place.path, os.O_WRONLY)
    except OSError as exc:
        raise StoreError(f"{place.path}: cannot open for writing: {_reason(exc)}") from None
    try:
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != (place.device, place.inode):
                raise StoreError(f"{place.path}: the result file was replaced during the run")
            for rec in place.records:
                rows = np.ascontiguousarray(arrays[rec.name], dtype=rec.dtype)
                if rows.nbytes != (stop - start) * rec.row_bytes:
                    raise ValueError(f"{rec.name}: {rows.nbytes} bytes for {stop - start} rows")
                _pwrite_all(fd, rows.data.cast("B"), rec.offset + start * rec.row_bytes)
        finally:
            os.close(fd)  # a network file system may report a failed write only here
    except OSError as exc:
        raise StoreError(
            f"{place.path}: cannot write replications {start}..{stop - 1}: {_reason(exc)}; "
            "chunks committed before are intact"
        ) from None
    written = place.names()
    return {k: v for k, v in arrays.items() if k not in written}


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """``pwrite`` until every byte is written (a large write may be cut short)."""
    while len(data):
        n = os.pwrite(fd, data, offset)
        data, offset = data[n:], offset + n
