"""Domain exceptions and the exit-code contract."""

from __future__ import annotations

import re
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


# What must not reach a terminal as it is: control characters (line breaks, tabs, escapes), the
# Unicode line and paragraph separators, and the controls that reorder text (bidi overrides).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """`text` with every control character escaped as Python writes it (`\\n`, `\\t`, `\\x1b`,
    `\\u2028`): a file name, sheet name or heading holding one stays on one line and cannot
    move the cursor or recolour the terminal. Other text, backslashes included, is unchanged."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, without DuckDB's `IO Error: ` prefix."""
    text = str(exc).strip()
    return text.splitlines()[0].removeprefix("IO Error: ") if text else type(exc).__name__
