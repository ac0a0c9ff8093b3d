"""Files written whole or not at all, and file digests.

``atomic_path``/``atomic_write`` write to a hidden temp file in the target's
folder and rename it into place only when everything succeeded, so an
interrupted run never leaves a partial file and never damages the old one.
"""
import contextlib
import hashlib
import os
import tempfile

from ..errors import Error


def where(role, path):
    return "%s '%s'" % (role, str(os.fspath(path)).replace("\n", "\\n"))


def _oneline(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


def digest(path, algorithm="sha256", chunk=1 << 20):
    """Hex digest of a file (``"sha1"``, ``"sha256"``, ...)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _new_file_mode(final):
    try:
        return os.stat(final).st_mode & 0o7777  # replacing: keep its permissions
    except OSError:
        pass
    try:
        with open("/proc/self/status") as f:
            umask = next(int(x.split()[1], 8) for x in f if x.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, *, role="output"):
    """Yield a temp path (hidden, same directory and extension as ``path``),
    moved onto ``path`` if the block succeeds and removed if anything fails.

    For libraries that write by file name (``save_parameters``, ``savefig``).
    An ``OSError`` (full disk, no permission) becomes an :class:`Error`.
    """
    shown, final = where(role, path), os.path.abspath(os.fspath(path))
    folder, name = os.path.split(final)
    stem, ext = os.path.splitext(name)
    if os.path.isdir(final):
        raise Error("%s: is a directory; give a file name" % shown)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + stem + ".tmp-", suffix=ext, dir=folder)
        os.close(fd)
    except OSError as e:
        raise Error("%s: cannot write in directory '%s' (%s)"
                    % (shown, folder, e.strerror or _oneline(e))) from None
    try:
        yield tmp
        os.chmod(tmp, _new_file_mode(final))
        _fsync(tmp)
        os.replace(tmp, final)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise Error("%s: cannot write (%s)" % (shown, e.strerror or _oneline(e))) from e
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        _fsync(folder)


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, encoding=None, newline=None, role="output"):
    """Like ``open(path, mode)`` for writing, but atomic (see :func:`atomic_path`).

    Text modes default to UTF-8; pass ``newline=""`` for the csv module.
    """
    if not mode.startswith("w") or any(c in mode for c in "rax"):
        raise ValueError("atomic_write needs a 'w' mode, got %r" % mode)
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(path, role=role) as tmp:
        with open(tmp, mode, encoding=encoding, newline=newline) as f:
            yield f
