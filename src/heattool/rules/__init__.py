"""Derived facts and retention: Expected HE Entry Year and the policy engine, rules as TOML data."""
