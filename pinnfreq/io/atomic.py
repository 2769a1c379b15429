"""Atomic file writes: write to a temporary name in the same folder, then ``os.replace``; and the
check that an output location can be written before any expensive work starts."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    An interrupted write never leaves a half-written file under the real name. A write killed before
    it could remove its temporary file (kill -9, power loss) leaves ``.<name>.<pid>.*``; the next write
    of the same name removes those whose process is gone.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual mode
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _remove_stale_temporaries(path: Path) -> None:
    prefix = f".{path.name}."
    for old in path.parent.glob(f"{prefix}*"):
        pid = old.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                old.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def check_writable(path: str | os.PathLike, what: str = "output") -> Path:
    """Make sure a file can be written at ``path`` (its folder created, a probe file written and
    removed), so that a run fails before training rather than after it. Returns ``path``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"the {what} {path} is a folder, not a file name")
    _probe(path.parent, path.name, f"the {what} {path}")
    return path


def check_writable_folder(folder: str | os.PathLike, what: str = "output folder") -> Path:
    """The same for a folder that files will be written into (created if missing)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"the {what} {folder} is a file, not a folder")
    _probe(folder, "pinnfreq", f"the {what} {folder}")
    return folder


def _probe(folder: Path, name: str, shown: str) -> None:
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"{shown} cannot be written: {existing} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".probe", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"pinnfreq write probe")
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{shown} cannot be written: {err.strerror or err}") from None
