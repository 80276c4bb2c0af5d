"""The one error handler: a domain error becomes one line and its exit code; a crash, exit 4."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from heattool.io.config import Config

import functools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
from rich.markup import escape

from heattool.errors import ExitCode, HeattoolError, printable


@dataclass
class State:
    """What the top-level options set, carried in the Typer context's `obj`."""

    debug: bool = False
    config: Config | None = None  # heattool.toml's settings, with the environment's


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    error_line(message)
    return typer.Exit(int(code))


def error_line(message: str) -> None:
    """`error: message` on stderr, on one line: a line break or other control character in it
    (from a file name, a sheet name, a heading) is shown escaped, as `\\n`."""
    from heattool.cli.render import stderr

    stderr().print(f"[red]error:[/] {escape(printable(message))}", markup=True, highlight=False)


def internal_error(exc: BaseException) -> str:
    """An internal error's one line: the exception's type and the line of heattool it came
    from, never its text, which can quote a cell (Polars' and DuckDB's errors do)."""
    import os

    import heattool

    package = os.path.dirname(heattool.__file__)
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(package + os.sep):
            relative = os.path.relpath(frame.filename, os.path.dirname(package))
            where = f" at {relative.replace(os.sep, '/')} line {frame.lineno}"
    return f"internal error: {type(exc).__name__}{where}"


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one line and their exit code, and crashes into exit 4.

    The command takes `ctx: typer.Context`, whose `obj` (a State) says whether --debug was given.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except HeattoolError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except BrokenPipeError:  # the reader (`| head`) has gone: a quiet exit 1
            silence_stdout()
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise fail("interrupted", ExitCode.USAGE) from None
        except Exception as exc:
            ctx = kwargs.get("ctx")
            debug = bool(ctx is not None and isinstance(ctx.obj, State) and ctx.obj.debug)
            if debug:
                traceback.print_exc()
            hint = "" if debug else "; run with --debug for the traceback"
            raise fail(f"{internal_error(exc)}{hint}", ExitCode.INTERNAL) from None

    return wrapper


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's own flush at exit is quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file behind stdout (a test's capture)
        pass
