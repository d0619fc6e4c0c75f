"""Files on disk: safe reading of a user's file, and atomic writing of relay's own.

Reading (every file a user hands relay, whatever its format):

* :func:`regular_file`: the path of an existing regular file (not a directory,
  device, pipe or socket; with ``follow_symlinks=False`` not a link either) of
  at most ``max_bytes``, else a :class:`~relay.errors.RelayInputError` naming
  the path and what was expected;
* :func:`read_bytes`: its bytes (the cap checked again while reading, so a
  file that grows is still refused);
* :func:`decode_utf8` and :func:`read_text`: its UTF-8 text (a leading BOM
  dropped; a byte that is not UTF-8 is an error naming its line).

Writing (everything relay writes: plan tables, problem.json, the geometry
cache's entries):

* :func:`atomic_path`: a temporary file in the target's folder that is
  flushed to disk (``fsync``) and renamed over the target (``os.replace``,
  atomic on POSIX) when the ``with`` block succeeds, and removed when it
  fails; so a reader sees the old file or the complete new one, never a half
  written one, even when a run is killed or two processes write the same
  target;
* :func:`write_text`: a whole text file that way;
* :func:`fsync_dir`: a folder's renames flushed too; :func:`process_alive`: whether the
  writer of a leftover temporary file or folder still runs.

Imports only :mod:`relay.errors` and the standard library.
"""
from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from .errors import RelayInputError

#: Largest user file the readers accept unless the caller gives another cap (bytes).
DEFAULT_MAX_BYTES = 64 * 2**20


# ----------------------------------------------------------------------------- reading
def _a(what: str) -> str:
    return ("an " if what[:1].lower() in "aeiou" else "a ") + what


def regular_file(path, what: str, max_bytes: int = DEFAULT_MAX_BYTES, *, follow_symlinks: bool = True) -> Path:
    """``path`` as a Path once it is checked to be an existing regular file of at most
    ``max_bytes``; otherwise an input error naming the path and what was expected.  With
    ``follow_symlinks=False`` (a drop folder) a symbolic link is refused too."""
    p = Path(path)
    src = str(path)
    try:
        st = p.stat() if follow_symlinks else p.lstat()
    except FileNotFoundError:
        raise RelayInputError(f"cannot read the {what} file: it does not exist", source=src) from None
    except OSError as exc:
        raise RelayInputError(f"cannot read the {what} file: {exc.strerror}", source=src) from None
    if stat.S_ISLNK(st.st_mode):
        raise RelayInputError(f"is a symbolic link; expected {_a(what)} file itself (links are not followed here)",
                              source=src)
    if stat.S_ISDIR(st.st_mode):
        raise RelayInputError(f"is a directory; expected {_a(what)} file", source=src)
    if not stat.S_ISREG(st.st_mode):
        raise RelayInputError(f"is not a regular file (a device, pipe or socket); expected {_a(what)} file",
                              source=src)
    if st.st_size > max_bytes:
        raise RelayInputError(f"is {st.st_size:,} bytes; {_a(what)} file may have at most {max_bytes:,} bytes",
                              source=src)
    return p


def read_bytes(path, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (see :func:`regular_file`)."""
    p = regular_file(path, what, max_bytes)
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise RelayInputError(f"cannot read the {what} file: {exc.strerror}", source=str(path)) from None
    if len(data) > max_bytes:
        raise RelayInputError(f"has more than {max_bytes:,} bytes; {_a(what)} file may have at most that many",
                              source=str(path))
    return data


def decode_utf8(data: bytes, source: str, what: str) -> str:
    """UTF-8 text of ``data`` (a leading BOM dropped); a byte that is not UTF-8 is an error
    naming its line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RelayInputError(
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} cannot be decoded; expected "
            f"{_a(what)} file saved as UTF-8", source=source, where=f"line {line}") from None


def read_text(path, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` (BOM dropped)."""
    return decode_utf8(read_bytes(path, what, max_bytes), str(path), what)


# ----------------------------------------------------------------------------- writing
@lru_cache(maxsize=1)
def _file_mode() -> int:
    """The mode a new file gets here (0666 less the umask), read once: ``mkstemp`` makes 0600."""
    old = os.umask(0o022)
    os.umask(old)
    return 0o666 & ~old


@contextmanager
def atomic_path(target: str | Path, suffix: str = ""):
    """Yield a temporary path next to ``target`` (its folder made if missing); on success the
    file is flushed to disk and renamed over ``target``, on failure removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, _file_mode())
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def fsync_dir(path: str | Path) -> None:
    """Flush a folder's entries (a rename in it, a new file) to disk; best effort where the file
    system cannot (some refuse fsync of a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (the writer of a leftover temporary folder,
    the holder of a run): a signal 0 that tells, without sending anything."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True   # it exists, owned by another user
    return True


def write_text(target: str | Path, text: str) -> None:
    """``text`` as the UTF-8 file ``target``, atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


__all__ = ["DEFAULT_MAX_BYTES", "regular_file", "read_bytes", "decode_utf8", "read_text", "atomic_path",
           "fsync_dir", "process_alive", "write_text"]
