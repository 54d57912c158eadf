"""Where a certificate PDF lands, and how it gets there without ever leaving a stray copy.

The register (the database) decides whether a certificate exists; the file follows it:

1. the output folder is proved writable by creating the staging file there first, so a
   path that cannot be written is refused before a number is spent;
2. the PDF goes into that hidden staging file (``.arayis-<random>.tmp``, owner-only,
   held under an exclusive ``flock`` by the writing process) and is fsynced *before* the
   register commits;
3. after the commit it is renamed into place (atomic within a folder).

A ``kill -9`` therefore leaves at most one staging file, and the next print into that
folder settles it: a file whose number and SHA-256 are in the register is restored under
``<number>.pdf`` (the certificate exists, so its file must too); anything else — a PDF whose
register entry never committed, or a half-written file — is deleted. The lock tells a dead
writer's file from a live one's, so two printers sharing a folder never touch each
other's work.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from arayis_cli.errors import ArayisError, InvalidInput, Unavailable
from arayis_cli.i18n import _

try:  # POSIX; elsewhere an open file cannot be deleted, which protects a live writer anyway
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

STAGING_RE = re.compile(r"^\.arayis-[0-9a-f]{16}\.tmp$")
# Staging files of arayis ≤ 0.1 (``.<name>.<pid>.tmp``): recognised by content as well.
LEGACY_STAGING_RE = re.compile(r"^\..+\.\d+\.tmp$")
DEFAULT_NAME_MAX = 255
MAX_CERTIFICATE = 20 * 1024 * 1024  # no certificate comes near it


@dataclass(frozen=True)
class OutputTarget:
    """A folder proved writable and, for ``--out FILE``, the file name wanted there."""

    folder: Path
    name: str | None = None
    #: Appended to the certificate number in a default file name (``-copy`` for a copy).
    suffix: str = ""
    #: ``--force``: a file already at the path is replaced; otherwise it is never touched.
    replace: bool = False

    def path_for(self, number: str) -> Path:
        return self.folder / (self.name or f"{number}{self.suffix}.pdf")

    def refuse_existing(self, number: str) -> None:
        """Exit 2 when the file would replace one that is there (without ``--force``)."""
        path = self.path_for(number)
        if not self.replace and os.path.lexists(path):
            raise already_there(path)


def already_there(path: Path) -> InvalidInput:
    return InvalidInput(
        _(
            "{path} is there already and is left as it is; write elsewhere with --out PATH, "
            "or replace it with --force"
        ).format(path=path)
    )


def output_target(
    out: Path | None, *, default_folder: Path, suffix: str = "", replace: bool = False
) -> OutputTarget:
    """``--out``: a folder (the file is named after the certificate) or a file path; an
    existing file is refused unless ``replace`` (``--force``)."""
    if out is None:
        return OutputTarget(default_folder, suffix=suffix, replace=replace)
    kind = _kind(out)
    if kind == "dir":
        return OutputTarget(out, suffix=suffix, replace=replace)
    folder = out.parent
    if _kind(folder) != "dir":
        raise InvalidInput(_("folder does not exist: {folder}").format(folder=folder))
    if kind not in ("missing", "file"):
        raise InvalidInput(
            _("not a regular file, cannot write the certificate there: {out}").format(out=out)
        )
    if kind == "file" and not replace:
        raise already_there(out)
    name_max = _limit(folder, "PC_NAME_MAX", DEFAULT_NAME_MAX)
    if len(os.fsencode(out.name)) > name_max:
        raise InvalidInput(
            _("file name too long (more than {name_max} bytes): {out_name}").format(
                name_max=name_max, out_name=out.name
            )
        )
    path_max = _limit(folder, "PC_PATH_MAX", 4096)
    if len(os.fsencode(os.path.abspath(out))) >= path_max:
        raise InvalidInput(
            _("path too long (more than {path_max} bytes): {out}").format(
                path_max=path_max, out=out
            )
        )
    return OutputTarget(folder, out.name, suffix=suffix, replace=replace)


def output_folder(folder: Path) -> OutputTarget:
    """``--out-dir``: an existing folder this process can create files in."""
    kind = _kind(folder)
    if kind != "dir":
        message = (
            _("{folder} does not exist") if kind == "missing" else _("{folder} is not a folder")
        )
        raise InvalidInput(message.format(folder=folder))
    target = OutputTarget(folder)
    with staged(target):  # the same proof a print makes, before anything is issued
        pass
    return target


def _kind(path: Path) -> str:
    """ "dir", "file", "other" or "missing"; a path the system cannot even look up (too
    long, a file used as a folder, no permission to search) is refused as input."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise InvalidInput(
            _("cannot use this path: {exc_strerror}: {path}").format(
                exc_strerror=exc.strerror, path=path
            )
        ) from None
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError):
        return default


class StagedFile:
    """The hidden, locked file a certificate is written to before its register commit."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.committed = False

    def write(self, content: bytes) -> None:
        """All bytes on disk before the register commits (a kill then leaves them whole)."""
        view = memoryview(content)
        while view:
            view = view[os.write(self.fd, view) :]
        os.fsync(self.fd)

    def publish(self, target: Path, *, replace: bool = True) -> Path:
        """Move into place once the register has committed; keep it for recovery if not.
        ``replace=False``: a file that appeared at ``target`` meanwhile is never replaced
        (:class:`FileExistsError`): the new name is linked, which fails if it exists."""
        if replace:
            os.replace(self.path, target)
            return target
        try:
            os.link(self.path, target)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then rename
            if os.path.lexists(target):
                raise FileExistsError(target) from None
            os.replace(self.path, target)
            return target
        os.unlink(self.path)
        return target


@contextmanager
def staged(target: OutputTarget) -> Iterator[StagedFile]:
    """Create and lock a staging file in the target folder: the writability proof.

    On leaving, a staging file whose register entry did not commit is deleted; one that did
    commit but could not be moved into place is left for the next print to restore.
    """
    fd, path = _create_locked(target.folder)
    staged_file = StagedFile(path, fd)
    try:
        yield staged_file
    finally:
        try:
            if not staged_file.committed:
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # releases the lock only after the file is gone or published


def _create_locked(folder: Path) -> tuple[int, Path]:
    for _attempt in range(5):
        path = folder / f".arayis-{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise unwritable(folder, exc) from None
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # A cleaner may have taken this file for a dead writer's between open and
            # flock: if the name no longer leads to our file, start again.
            try:
                same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
        return fd, path
    raise Unavailable(_("cannot create a staging file in {folder}").format(folder=folder))


def unwritable(folder: Path, exc: OSError) -> ArayisError:
    import errno

    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
        return Unavailable(
            _("cannot write certificates in {folder}: {reason}").format(
                folder=folder, reason=reason
            )
        )
    return InvalidInput(
        _("cannot write certificates in {folder}: {reason}").format(folder=folder, reason=reason)
    )


@dataclass(frozen=True)
class Settled:
    """What became of one staging file left by a killed print."""

    staging: Path
    restored_to: Path | None
    number: str | None


def has_staging(folder: Path) -> bool:
    """Anything in ``folder`` that could be a staging file left by a killed print."""
    try:
        return any(_candidate(e.name) for e in os.scandir(folder))
    except OSError:
        return False


def _candidate(name: str) -> bool:
    return bool(STAGING_RE.match(name) or LEGACY_STAGING_RE.match(name))


def settle_orphans(folder: Path, registered_sha256: Callable[[str], str | None]) -> list[Settled]:
    """Restore or delete the staging files of dead writers in ``folder``.

    ``registered_sha256(number)`` gives the register's SHA-256 for a certificate number
    (None when the number is not in the register).
    """
    from arayis_cli.certificate.signing import token_in_pdf

    settled: list[Settled] = []
    try:
        entries = [e.name for e in os.scandir(folder) if _candidate(e.name)]
    except OSError:
        return settled
    for name in sorted(entries):
        legacy = not STAGING_RE.match(name)
        path = folder / name
        with _dead_writers_file(path) as content:
            if content is None:
                continue
            token = token_in_pdf(content)
            if legacy and (not content.startswith(b"%PDF") or token is None):
                continue  # not ours: leave other programs' files alone
            number = token.split(".", 1)[0] if token else None
            sha = hashlib.sha256(content).hexdigest()
            restored = None
            if number and registered_sha256(number) == sha:
                restored = _restore(path, folder, number, sha)
                if restored is None:
                    continue  # nowhere to put it: keep the only copy rather than lose it
            path.unlink(missing_ok=True)
            settled.append(Settled(path, restored, number))
    return settled


@contextmanager
def _dead_writers_file(path: Path) -> Iterator[bytes | None]:
    """The file's bytes if its writer is gone (we hold its lock), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        yield None
        return
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None  # a live print is writing it
                return
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same or os.fstat(fd).st_size > MAX_CERTIFICATE:
            yield None  # published or settled meanwhile, or far too big to be ours
            return
        with os.fdopen(os.dup(fd), "rb") as fh:
            yield fh.read()
    finally:
        os.close(fd)


def _restore(staging: Path, folder: Path, number: str, sha: str) -> Path | None:
    """Put a registered certificate's only copy under its number's name (never over a file
    that is there already: that one is someone's too)."""
    for suffix in ("", *(f"-{n}" for n in range(1, 100))):
        target = folder / f"{number}{suffix}.pdf"
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
            return target  # restored before, by a run killed before it could tidy up
        try:
            os.link(staging, target)
        except FileExistsError:
            continue
        except OSError:  # no hard links on this file system: rename, checked just before
            if target.exists():
                continue
            os.replace(staging, target)
        return target
    return None
