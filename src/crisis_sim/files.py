"""The files a command writes, as files: checks before any work, new ones moved into place.

Before a worker starts or a kernel is compiled, a command checks that it may write where it is
told (:func:`refuse_existing`). A new file is built under a name of its own beside its
destination (:func:`temporary_beside`: two runs on one new file never build into the same
copy) and moved into place synced (:func:`publish`), over an existing file only when asked.
No HDF5 here: the run's process checks its ``--out`` before it forks its workers.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from crisis_sim.errors import StoreError


def refuse_existing(
    path: Path, overwrite: bool, can_append: bool = True, kind: str = "result file"
) -> None:
    """Raise unless a new result file may be written at ``path``.

    Cheap checks only, made before any work starts (a worker pool may already be computing
    when the file is created; an error found then waits for the chunks in hand).
    """
    if not path.parent.is_dir():
        raise StoreError(f"{path}: cannot create {kind}: No such file or directory")
    why = not_a_file(path)  # a folder, or a pipe or device: never replaced, nor waited on
    if why:
        raise StoreError(f"{path}: {why}; give a file name for the {kind}")
    if path.exists() and not overwrite:
        raise taken(path, can_append)
    if path.exists():
        refuse_if_in_use(path)


def taken(path: Path, can_append: bool = True) -> StoreError:
    """The error for an output that exists: what the user may do with it instead."""
    return StoreError(f"{path}: file exists; pass {_ways_on(path, can_append)}")


def resume_command(path: Path, command: str = "run") -> str:
    """The command line that finishes the file at ``path`` (``command``: run, sweep, compare)."""
    return f"crisis-sim {command} --resume {out_option(path)}"


def out_option(path: Path) -> str:
    """``--out PATH``, quoted for a shell where it needs to be."""
    import shlex

    return f"--out {shlex.quote(str(path))}"


def _ways_on(path: Path, can_append: bool = False) -> str:
    """What a user may do with an existing file, each with the ``--out`` it needs."""
    out = out_option(path)
    if can_append:
        return (
            f"--overwrite to replace it, --resume {out} to finish it "
            f"or --append N {out} to add replications"
        )
    return f"--overwrite to replace it or --resume {out} to finish it"


PIPE_OR_DEVICE = "not a regular file (a pipe or a device)"


def not_a_file(path: Path) -> str | None:
    """Why ``path`` is no file to write or read: a folder, a pipe or a device (else None).

    None too for a path that is absent or cannot be looked at: the opening reports it.
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        return "is a folder"
    return None if stat.S_ISREG(mode) else PIPE_OR_DEVICE


def refuse_special(path: Path) -> None:
    """Raise if ``path`` is a pipe or a device: HDF5 would wait on a named pipe."""
    if not_a_file(path) == PIPE_OR_DEVICE:
        raise StoreError(f"{path}: {PIPE_OR_DEVICE}, not a result file")


def remove(path: Path) -> None:
    """Delete a temporary file if it is there (and never fail doing so)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def refuse_if_in_use(path: Path) -> None:
    """Raise if another process holds ``path`` open for writing (HDF5's exclusive lock)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # nothing we can open is nothing another process is writing through us
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        raise StoreError(
            f"{path}: file is in use by another process (locked); "
            "wait for it to finish or stop it first"
        ) from None
    finally:
        os.close(fd)


def temporary_beside(path: Path, suffix: str) -> Path:
    """A new empty file ``NAME.HOST.PID.SUFFIX`` beside ``path``, made here and by no one else.

    ``NAME`` is the file's name, or a shorter stand-in for a name near the length limit
    (:func:`_stem`).

    Its own name for each process: two runs building one file at once each build their own.
    Those this machine's killed runs left beside ``path`` are removed first.
    """
    _forget_leftovers(path)
    stem = _stem(path)
    for n in range(1000):
        tag = f"{_HOST}.{os.getpid()}{f'-{n}' if n else ''}"
        tmp = path.with_name(f"{stem}.{tag}{suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:  # left by a process of another machine that had this number
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


# Which machine made a temporary file (folders may be shared): no dots, as they part the name.
_HOST = (os.uname().nodename if hasattr(os, "uname") else "host").replace(".", "-") or "host"
# The longest tag and suffix a copy's name adds: ".HOST.PID-N" and the longest of LEFTOVERS.
_TAG_BYTES = len(f".{_HOST}.{2**32}-999".encode()) + len(".grow")


def _stem(path: Path) -> str:
    """The part of a copy's name that stands for ``path``: its name, if the copy's fits.

    A name within a few dozen bytes of the file system's limit (255 on most) is cut and ends in
    a digest of the whole name instead, so that every name a file may have can be written.
    """
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    name = os.fsencode(path.name)
    room = limit - _TAG_BYTES
    if len(name) <= room:
        return path.name
    import hashlib

    digest = hashlib.sha256(name).hexdigest()[:16]
    head = os.fsdecode(name[: max(0, room - len(digest) - 1)])
    return f"{head}~{digest}"


def _forget_leftovers(path: Path) -> None:
    """Delete what runs of this machine that no longer exist left beside ``path``."""
    kinds = "|".join(re.escape(k) for k in LEFTOVERS)
    pattern = re.compile(
        re.escape(f"{_stem(path)}.{_HOST}.") + rf"(\d+)(?:-\d+)?(?:{kinds})(?:\..*)?$"
    )
    try:
        names = os.listdir(path.parent)
    except OSError:
        return  # the caller's own creation reports the folder's problem
    for name in names:
        m = pattern.match(name)
        if m and not _alive(int(m.group(1))):
            remove(path.with_name(name))


# The suffixes of the copies built beside a file: a new file, a bigger one (``--append``).
LEFTOVERS = (".tmp", ".grow")


def _alive(pid: int) -> bool:
    """Whether a process of this number runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


def publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move a finished file to ``path``: over an existing one only with ``overwrite``.

    Synced first, and the folder after, so that the name and what it names reach the disk.
    Without ``overwrite`` a hard link takes the name only if it is free (FileExistsError
    otherwise); where the file system has no hard links, the name is checked, then replaced.
    """
    sync(tmp)
    if overwrite:
        refuse_if_in_use(path)  # a run that began writing it since the first check keeps it
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            if path.exists():
                raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
            os.replace(tmp, path)
        else:
            remove(tmp)
    sync_folder(path.parent)


def sync(path: Path) -> None:
    """Write a file's data and metadata to disk now."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(folder: Path) -> None:
    """Write a folder's entries (a file's new name) to disk, where the folder allows it.

    A folder one may write in but not read (a drop box), or a file system that syncs no
    folders, cannot be synced: the name then reaches the disk when the system writes it.
    """
    try:
        sync(folder)
    except OSError:
        pass
