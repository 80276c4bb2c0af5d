"""Run heattool as `python -m heattool`."""

from heattool.cli.app import main

main()
