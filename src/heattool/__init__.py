"""heattool: validate, store, retain and track HEAT outreach-participant records."""

__version__ = "0.1.0"
