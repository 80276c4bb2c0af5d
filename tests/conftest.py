"""Shared test fixtures and the Hypothesis profiles (helpers are in tests/helpers.py)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

# CI runs a small profile on every submission; a developer's run looks harder.
settings.register_profile(
    "ci", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner):
    """Run heattool in-process; returns the click Result with stdout and stderr apart."""
    from heattool.cli import app

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return run


@pytest.fixture(scope="session")
def invoke_fresh():
    """Like `invoke`, session-scoped so that Hypothesis tests may use it."""
    from heattool.cli import app

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return run
