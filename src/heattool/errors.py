"""Domain exceptions and the exit-code contract."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes heattool promises to scripts; documented in the README."""

    OK = 0
    INVALID_DATA = 1
    USAGE = 2
    BAD_POLICY = 3
    INTERNAL = 4


class HeattoolError(Exception):
    """An error that stops the run and is shown to the user as one line."""

    exit_code: ExitCode = ExitCode.USAGE


class UnreadableInput(HeattoolError):
    """An input file cannot be read as an upload (missing, empty, binary, bad encoding)."""


class UnknownKind(HeattoolError):
    """The kind of upload cannot be told from its headers."""


class InvalidData(HeattoolError):
    """The data were read but are not valid (used where no report is printed)."""

    exit_code = ExitCode.INVALID_DATA


class BadPolicy(HeattoolError):
    """A policy or configuration file is malformed or inconsistent."""

    exit_code = ExitCode.BAD_POLICY


class StoreError(HeattoolError):
    """The store cannot be opened or written (locked, too new, wrong key, read-only)."""


class NoSuchPerson(HeattoolError):
    """No person with that heat_id or ref (for that member) is in the store."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, without DuckDB's `IO Error: ` prefix."""
    text = str(exc).strip()
    return text.splitlines()[0].removeprefix("IO Error: ") if text else type(exc).__name__
