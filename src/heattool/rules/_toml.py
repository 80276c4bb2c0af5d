"""Read a rules TOML file and check its tables, naming the file and place of every mistake."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from heattool.errors import BadPolicy


def read_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    """The parsed file; unreadable or malformed TOML is a BadPolicy naming the line."""
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BadPolicy(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise BadPolicy(f"{path}: cannot be read ({reason})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadPolicy(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        document = None
    if document is None or _depth(document) > MAX_DEPTH:
        raise BadPolicy(f"{path}: nested more than {MAX_DEPTH} levels deep; write it flatter")
    return document


MAX_DEPTH = 32  # tables and lists inside each other: far past any sane policy


def _depth(value: Any, level: int = 0) -> int:
    """How deeply tables and lists nest, stopping once past MAX_DEPTH."""
    if level > MAX_DEPTH:
        return level
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    return max((_depth(child, level + 1) for child in children), default=level)


def check_keys(
    where: str, table: Any, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    """The table itself, after checking it is a table with the required and no unknown keys."""
    if not isinstance(table, dict):
        raise BadPolicy(f"{where}: must be a table, not {describe(table)}")
    required, optional = list(required), list(optional)
    missing = [key for key in required if key not in table]
    if missing:
        raise BadPolicy(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    known = set(required) | set(optional)
    unknown = [key for key in table if key not in known]
    if unknown:
        allowed = ", ".join(sorted(known))
        raise BadPolicy(
            f"{where}: unknown key {', '.join(repr(k) for k in unknown)} (allowed: {allowed})"
        )
    return table


def describe(value: Any) -> str:
    """A value as a policy author would recognise it in an error message."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
