"""File safety, in one place: owner-only files, whole files put in place, formula-safe cells.

Every file heattool writes is written to a private temporary file beside it (mode 0600 from
its creation) and renamed over the name asked for only once it is whole: a failure, a full
disk or a kill never leaves a truncated file there (an old file stays until the new one is
whole), and a symbolic link at that name is refused, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import polars as pl

from heattool.errors import UnreadableInput

PRIVATE_MODE = 0o600
PRIVATE_UMASK = 0o077
UTF8_BOM = b"\xef\xbb\xbf"
# What Excel, LibreOffice and Sheets may run as a formula when a cell starts with it.
FORMULA_START = r"^[=+\-@\t\r]"
FORMULA_CODES = (61, 43, 45, 64, 9, 13)  # = + - @ tab CR: the characters of FORMULA_START
FORMULA_CHARACTERS = "".join(map(chr, FORMULA_CODES))
PARTIAL_SUFFIX = ".partial"
_NAME_KEPT = 80  # characters of the target's name in a temporary name (names are 255 bytes)


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files created inside the block (by DuckDB, which takes no mode) are owner-only.

    The umask is the process's: hold it only around the calls that create files.
    """
    old = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(old)


def refuse_link(path: Path) -> None:
    """Refuse to write at `path` if it is a symbolic link (even one that points nowhere)."""
    if Path(path).is_symlink():
        raise UnreadableInput(f"{path} is a symbolic link; heattool does not write through links")


def rejects_path(name: str, rejects_out: Path | None, uploads: int, default: Path) -> Path:
    """The rejects file of an upload called `name` (its stem): `rejects_out` itself for one
    upload; for several, in the folder it names or beside it with the name added; else
    `default`."""
    if rejects_out is None:
        return default
    if rejects_out.is_dir():
        return rejects_out / f"{name}.rejects.csv"
    if uploads == 1:
        return rejects_out
    return rejects_out.with_name(f"{rejects_out.stem}-{name}{rejects_out.suffix}")


def cannot_write(path: Path, exc: OSError) -> UnreadableInput:
    """The one-line error for an output that could not be written (exit 2)."""
    reason = exc.strerror or (errno.errorcode.get(exc.errno, "") if exc.errno else "") or str(exc)
    return UnreadableInput(f"{path}: cannot write ({reason})")


def temporary_beside(path: Path) -> Path:
    """A new, empty, owner-only file in `path`'s folder with an unpredictable name.

    The folder is made if missing. The name starts with a dot and ends `.partial`, so that a
    file left by a killed run is plainly not an output.
    """
    fd, temporary = _create_beside(path)
    os.close(fd)
    return temporary


def _create_beside(path: Path) -> tuple[int, Path]:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(  # O_EXCL, mode 0600 whatever the umask
            dir=path.parent, prefix=f".{path.name[:_NAME_KEPT]}.", suffix=PARTIAL_SUFFIX
        )
    except OSError as exc:
        raise cannot_write(path, exc) from None
    return fd, Path(name)


def install(written: Path, path: Path) -> None:
    """Rename the whole file `written` over `path`, refusing a symbolic link at `path`.

    The rename replaces the name, never what a link there points to; the check makes a link
    an error rather than silently replaced. On failure `written` is left as it is.
    """
    refuse_link(path)
    try:
        os.chmod(written, PRIVATE_MODE)
        os.replace(written, path)
    except OSError as exc:
        raise cannot_write(path, exc) from None


@contextlib.contextmanager
def replacing(path: Path, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """A handle on a private temporary file that becomes `path` once the block completes.

    If the block (or the flush to disk) fails, the temporary file is removed and whatever was
    at `path` stays as it was; an OSError (a full disk) is the one-line error of exit 2.
    """
    path = Path(path)
    refuse_link(path)
    fd, temporary = _create_beside(path)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        install(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise cannot_write(path, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def make_private(path: Path) -> None:
    """chmod 0600, if the file exists and is not already."""
    import stat

    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) != PRIVATE_MODE:
            os.chmod(path, PRIVATE_MODE)


def safe_text(text: str) -> str:
    """`text` with a leading apostrophe if a spreadsheet would run it as a formula."""
    return "'" + text if text and text[0] in FORMULA_CHARACTERS else text


def excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralise text cells that Excel would run as a formula, by a leading apostrophe.

    The column names are not changed (see `safe_text` for a header row). Categorical text is
    written as text.
    """
    return frame.with_columns(
        pl.when(pl.col(name).cast(pl.String).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    )
