"""Errors a user can cause: printed as one line, exit status 2."""


class InputError(Exception):
    """Bad input (scenario file, option, result file): the message names file, key and value."""


class StoreError(InputError):
    """A result file that cannot be used as asked (exists, locked, not ours, corrupt)."""


class Interrupted(Exception):
    """The user stopped a run; every committed chunk is safe (exit status 130)."""


class WorkerLost(Exception):
    """A worker process died (killed, out of memory); committed chunks are safe (exit status 1)."""
