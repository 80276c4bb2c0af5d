"""How an action says how far it has got: `progress(step, rows)` after each step it finishes.

The command line shows it as a bar with rows and rate on a terminal, and not at all otherwise;
an action called without one reports to nobody.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int | None], None]


def nowhere(step: str, rows: int | None = None) -> None:
    """The progress of an action nobody is watching."""
