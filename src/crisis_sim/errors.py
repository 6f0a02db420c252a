"""Errors a user can cause: printed as one line, exit status 2."""

import re


class InputError(Exception):
    """Bad input (scenario file, option, result file): the message names file, key and value."""


class StoreError(InputError):
    """A result file that cannot be used as asked (exists, locked, not ours, corrupt)."""


class Interrupted(Exception):
    """The user stopped a run; every committed chunk is safe (exit status 130)."""


class WorkerLost(Exception):
    """A worker process died (killed, out of memory); committed chunks are safe (exit status 1)."""


# The most a count may be: replications in one file (2.2 TB at ~220 bytes each), and local
# worker processes.
AT_MOST = {"--runs": 10_000_000_000, "--workers": 1024}


def at_least_one(option: str, value: int) -> int:
    """Counts the user gives (replications, workers, chunk size): one or more, else one line.

    Replications and workers also have an upper bound (:data:`AT_MOST`): beyond it a run would
    only fail later, out of memory or disk, or hang while it cuts the work into chunks.
    """
    if value < 1:
        raise InputError(f"{option} {value}: must be at least 1")
    most = AT_MOST.get(option)
    if most is not None and value > most:
        raise InputError(f"{option} {value}: must be at most {most:,}")
    return value


def fits_one_file(option: str, replications: int) -> None:
    """Refuse a file of more replications in all than a run may ask for (see :data:`AT_MOST`).

    A sweep holds runs × points, a comparison runs × arrangements, an appended file old + new.
    """
    most = AT_MOST["--runs"]
    if replications > most:
        raise InputError(f"{option}: {replications:,} replications in one file; at most {most:,}")


def file_error_reason(exc: BaseException) -> str:
    """What went wrong with a file, in a few words (disk full, locked, not HDF5, ...)."""
    import os

    text = str(exc)
    errno = exc.errno if isinstance(exc, OSError) else None
    if errno == 28 or "No space" in text:
        return "disk full"
    if "File too large" in text or errno == 27:
        return "file size limit reached (disk full)"
    if "unable to lock file" in text.lower():
        return "file is in use by another process (locked)"
    if "truncated file" in text:
        return "the file is truncated (damaged or still being copied)"
    if "file signature not found" in text:
        return "not an HDF5 file"
    if errno is not None and errno > 0:
        return os.strerror(errno)
    return " ".join(text.split()) if text else type(exc).__name__


def fits_in_memory(option: str, value: int, bytes_each: int, what: str) -> None:
    """Refuse a count whose arrays, held whole in memory, would take over half this machine's.

    Only for commands that keep every replication in memory (``assumptions`` pairs its
    settings replication by replication); a run streams to its file instead.
    """
    import os

    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return  # not knowable here: the allocation decides
    need = value * bytes_each
    if need > total // 2:
        raise InputError(
            f"{option} {value:,}: {what} needs about {need / 2**30:,.1f} GiB of memory, over "
            f"half of this machine's {total / 2**30:,.1f} GiB; "
            f"at most {total // 2 // bytes_each:,} here"
        )


# pydantic's messages (the scenario schema's, and Typer's for options) in the words of this
# tool's other errors.
_PLAIN = (
    (r"^Input should be a valid integer.*", "must be a whole number (no decimal point)"),
    (
        r"^String should match pattern '\^\[A-Z\]\[A-Z0-9_\]\{1,11\}\$'$",
        "must be a state code: a capital letter, then 1 to 11 capitals, digits or _",
    ),
    (
        r"^String should match pattern '\^\[A-Z\]\{2,3\}\$'$",
        "must be a COW abbreviation: 2 or 3 capitals",
    ),
    (
        r"^String should match pattern '\^\[a-z0-9\]\[a-z0-9_-\]\*\$'$",
        "must be lower-case letters, digits, _ and - (it names the output files)",
    ),
    (r"^String should match pattern '(.*)'$", r"has a character it may not hold (pattern \1)"),
    (r"^String should have at least 1 character$", "must not be empty"),
    (
        r"^List should have at least (\d+) items? after validation, not (\d+)$",
        r"must list at least \1 (it lists \2)",
    ),
    (
        r"^List should have at most (\d+) items? after validation, not (\d+)$",
        r"may list at most \1 (it lists \2)",
    ),
    (r"^Input should be a valid number.*", "must be a number"),
    (r"^Input should be a valid boolean.*", "must be true or false"),
    (r"^Input should be a valid string.*", "must be a text"),
    (r"^Input should be a valid (list|array).*", "must be a list"),
    (r"^Input should be a valid dictionary.*", "must be a table"),
    (r"^Input should be less than or equal to ", "must be at most "),
    (r"^Input should be greater than or equal to ", "must be at least "),
    (r"^Input should be less than ", "must be below "),
    (r"^Input should be greater than ", "must be above "),
    (r"^Input should be ", "must be "),
    (r"^Extra inputs are not permitted$", "unknown key"),
    (r"^Field required$", "missing: this key is required"),
)


def plain_words(message: str) -> str:
    """A validation message as the rest of the tool words it (``must be a whole number``)."""
    for pattern, words in _PLAIN:
        new, n = re.subn(pattern, words, message, count=1)
        if n:
            return new
    return message
