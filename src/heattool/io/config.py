"""`heattool.toml`: the settings a cron job would otherwise repeat on every line.

The file is `--config FILE`, else `$HEATTOOL_CONFIG`, else `heattool.toml` in the current folder
if there is one. A value is taken from a flag, else the file, else the environment, else
heattool's default; `heattool config` shows each with where it came from. Paths in the file are
relative to the file's folder, so a cron job may run from anywhere.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from heattool.errors import BadPolicy, HeattoolError

CONFIG_ENV = "HEATTOOL_CONFIG"
CONFIG_NAME = "heattool.toml"
# Each setting: whether it is a path, the environment variable it stands in for, and what it is.
SETTINGS: dict[str, tuple[bool, str | None, str]] = {
    "db": (True, "HEATTOOL_DB", "the store (--db)"),
    "member": (False, None, "the member code (--member)"),
    "policy": (True, "HEATTOOL_POLICY", "the retention policy (--policy)"),
    "aliases": (True, "HEATTOOL_ALIASES", "your header aliases (--aliases)"),
    "key_file": (True, "HEATTOOL_KEY_FILE", "the file holding the store's key"),
    "out_dir": (True, None, "the folder for files heattool names itself (rejects, receipts)"),
}


@dataclass(frozen=True)
class Setting:
    value: str | Path | None
    source: str  # the file, the environment variable, or "default"


@dataclass(frozen=True)
class Config:
    path: Path | None  # the file read, if any
    settings: dict[str, Setting] = field(default_factory=dict)

    def value(self, name: str) -> str | Path | None:
        return self.settings[name].value

    def path_value(self, name: str) -> Path | None:
        value = self.value(name)
        return Path(value) if value is not None else None

    def from_file(self) -> dict[str, str | Path]:
        """The settings the file gives (they win over the environment)."""
        return {
            name: s.value
            for name, s in self.settings.items()
            if s.value is not None and self.path is not None and s.source == str(self.path)
        }


def config_path(explicit: Path | None = None, cwd: Path | None = None) -> Path | None:
    """The config file in use: `explicit`, else $HEATTOOL_CONFIG, else ./heattool.toml."""
    named = explicit or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if named is not None:
        if not named.is_file():
            how = "--config" if explicit else CONFIG_ENV
            raise HeattoolError(f"{how} {named}: no such file")
        return named
    found = (cwd or Path.cwd()) / CONFIG_NAME
    return found if found.is_file() else None


def load_config(explicit: Path | None = None, cwd: Path | None = None) -> Config:
    """Every setting's value and source: the file's, else the environment's, else none."""
    path = config_path(explicit, cwd)
    document: dict[str, object] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise BadPolicy(f"{path}: cannot be read ({reason})") from None
        except tomllib.TOMLDecodeError as exc:
            raise BadPolicy(f"{path}: not valid TOML ({exc})") from None
        unknown = sorted(set(document) - set(SETTINGS))
        if unknown:
            raise BadPolicy(
                f"{path}: unknown setting {', '.join(repr(k) for k in unknown)}; "
                f"the settings are {', '.join(SETTINGS)}"
            )
    settings = {}
    for name, (is_path, env, _what) in SETTINGS.items():
        if name in document:
            raw = document[name]
            if not isinstance(raw, str) or not raw.strip():
                raise BadPolicy(f"{path}: {name} must be a non-empty string")
            value: str | Path = raw.strip()
            if is_path:
                assert path is not None
                value = path.parent / Path(raw).expanduser()
            settings[name] = Setting(value, str(path))
        elif env and os.environ.get(env):
            settings[name] = Setting(Path(os.environ[env]) if is_path else os.environ[env], env)
        else:
            settings[name] = Setting(None, "default")
    return Config(path, settings)
