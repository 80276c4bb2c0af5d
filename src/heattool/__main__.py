"""Run heattool as `python -m heattool`."""

from heattool.cli import main

main()
