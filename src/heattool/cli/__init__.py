"""The command line: the Typer app (app.py), shared options (options.py), one function per
command (commands.py), the renderers (render.py) and the one error handler (failures.py)."""

from heattool.cli.app import app, main

__all__ = ["app", "main"]
