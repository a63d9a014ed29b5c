"""`RunLock`: one command at a time writes a folder (`siam-train`, `siam-export`, `siam
explain`, `siam score`).

Two commands writing one folder interleave their files, and one's clean-up deletes the
other's work (two `siam-train` on one `--out`: the second resumed the first's run and
removed its checkpoint). The lock is the hidden file `.siam.lock` in the folder (for an
output file, `.<name>.siam.lock` beside it), held with an exclusive advisory lock
(`fcntl.flock`; `msvcrt.locking` on Windows) for the command's life. The kernel
releases it when the process ends, however it ends, so a lock left by a killed
process is simply taken over. The file holds the holder's PID and command, which the
refusal names, and is removed by its holder as it finishes (a command that opened it
meanwhile sees, once it has the lock, that the file at that name is another one, and
locks that instead).

Limits: advisory (a program that does not take it is not stopped), and on network
file systems only as good as their locking (NFS v4 and SMB honour it; some FUSE file
systems do not).
"""

import contextlib
import json
import os
import sys
import time
from pathlib import Path

LOCK_NAME = ".siam.lock"


class RunLockedError(OSError):
    """Another command holds the lock (an OSError, as a busy file is: every command
    reports it in one line); the message names it and its PID."""


class RunLock:
    """An exclusive lock on `folder` (or on the file `path`) while a command writes it.

    Use as a context manager: `with RunLock(out, "siam-train"): ...`. Entering refuses
    with `RunLockedError` when another live process holds it. A folder it had to create
    and that holds nothing but the lock at the end is removed again.

    Args:
        path: the folder a command writes (the lock lies in it; created if needed), or
            with `for_file=True` a file it writes (the lock lies beside it).
        command: what holds it, for the message another command gets.
    """

    def __init__(self, path, command, for_file=False):
        path = Path(path)
        self.path = (path.parent / f".{path.name}.siam.lock") if for_file else path / LOCK_NAME
        self.command = command
        self._file, self._created = None, False

    def __enter__(self):
        self._created = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            file = self._open()
            try:
                locked = _try_lock(file, self.path)
            except OSError:
                file.close()
                raise
            if not locked:
                break
            if _same_file(file, self.path):
                return self._hold(file)
            file.close()  # removed by its holder as it finished: lock the new one
        holder = _holder(file)
        file.close()
        raise RunLockedError(
            f"{self.path.parent} is being written by {holder.get('command', 'another command')}"
            f" (PID {holder.get('pid', '?')}, since {holder.get('since', '?')}): one command at "
            "a time. Wait for it to finish, or choose another output.")

    def _open(self):
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        return os.fdopen(os.open(self.path, flags, 0o644), "r+", encoding="utf-8")

    def _hold(self, file):
        try:
            file.seek(0)
            file.truncate()
            file.write(json.dumps({"pid": os.getpid(), "command": self.command,
                                   "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
            file.flush()
        except OSError as error:  # a full disk: the lock holds all the same, unnamed
            _unlock(file)
            file.close()
            raise OSError(error.errno, f"{self.path} cannot be written "
                          f"({error.strerror or error})") from None
        self._file = file
        return self

    def __exit__(self, *exc):
        file, self._file = self._file, None
        if file is None:
            return
        folder = self.path.parent
        try:
            if sys.platform != "win32":  # while held: the next command makes its own file
                self.path.unlink(missing_ok=True)
        finally:
            _unlock(file)
            file.close()
        if sys.platform == "win32":  # an open file cannot be removed there; a stale
            with contextlib.suppress(OSError):  # one is harmless: the lock is what counts
                self.path.unlink()
        if self._created:
            with contextlib.suppress(OSError):  # not empty: another command started
                folder.rmdir()  # a command that wrote nothing leaves no folder behind


def _same_file(file, path):
    """Whether the open `file` is still the one at `path` (not removed by its last holder
    between our open and our lock)."""
    try:
        return os.path.samestat(os.fstat(file.fileno()), os.stat(path))
    except OSError:
        return False


def _holder(file):
    try:
        file.seek(0)
        holder = json.loads(file.read() or "{}")
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def _unsupported(path, error):
    return OSError(error.errno, f"{path}: this file system cannot lock files ("
                   f"{error.strerror or error}); write the output to a local folder")


#: Windows locks byte ranges, and a locked byte cannot be read: the lock is on a byte far
#: past the holder's line, which others read to name it.
_WINDOWS_LOCK_OFFSET = 2**30

if sys.platform == "win32":  # pragma: no cover  (the tests run on Linux)
    import msvcrt

    def _try_lock(file, path):
        file.seek(_WINDOWS_LOCK_OFFSET)
        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except PermissionError:  # held by another process
            return False
        except OSError as error:
            raise _unsupported(path, error) from None

    def _unlock(file):
        file.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(file, path):
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as error:  # ENOLCK (NFS mounted nolock), EOPNOTSUPP (some FUSE)
            raise _unsupported(path, error) from None

    def _unlock(file):
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)
