"""The DuckDB store: one Store class, numbered migrations, import batches and the audit log."""

from heattool.store.store import (
    DB_ENV,
    KEY_ENV,
    KEY_FILE_ENV,
    MEMORY,
    Store,
    key_from_env,
    resolve_db_path,
)

__all__ = [
    "DB_ENV",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "MEMORY",
    "Store",
    "key_from_env",
    "resolve_db_path",
]
