"""The one way heattool runs work beside the main thread.

Polars, pyarrow and DuckDB let go of the GIL in their long calls, so on two cores a second
thread overlaps real work; each use names its measurement in docs/benchmarks.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """`function(*args)` started on a daemon thread; `result()` waits and returns or raises."""

    def __init__(self, function: Callable[..., T], *args: object) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = function(*args)
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self) -> T:
        """Wait for the function; its value, or what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def settle(self) -> T | None:
        """Wait for the function and return its value, or None if it raised."""
        self._thread.join()
        return None if self._error is not None else self._value


def beside(function: Callable[..., T], *args: object) -> Background[T]:
    """Start `function(*args)` on a second thread."""
    return Background(function, *args)
