"""How this process's memory allocator treats the arrays of finished chunks."""

from __future__ import annotations


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the system.

    Every chunk allocates and frees the same few hundred megabytes of arrays; returned to the
    system, that memory comes back page by page, each first touch a page fault (costly in a
    virtual machine). Kept, the next chunk reuses it: on the benchmark machine, 10^6
    replications with two workers took 7.05-7.27 s against 7.12-7.52 s without (runs
    alternated; see benchmarks/README.md). Linux with glibc only; elsewhere it does nothing.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: arrays up to 32 MB from the heap
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GB of freed heap
    except (OSError, AttributeError, TypeError):
        pass  # not glibc (musl has no mallopt): nothing to ask
