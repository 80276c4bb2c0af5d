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

from heattool.errors import ExitCode, HeattoolError


@dataclass
class State:
    """What the top-level options set, carried in the Typer context's `obj`."""

    debug: bool = False
    config: Config | None = None  # heattool.toml's settings, with the environment's


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    from heattool.cli.render import stderr

    stderr().print(f"[red]error:[/] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(int(code))


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
            raise fail(
                f"internal error: {type(exc).__name__}: {exc}{hint}", ExitCode.INTERNAL
            ) from None

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
