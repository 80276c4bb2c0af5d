"""`heattool config`: the settings in effect, each with where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from heattool.io.config import SETTINGS, Config, load_config


@dataclass
class Settings:
    config: Config

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "setting": name,
                "value": None if s.value is None else str(s.value),
                "from": s.source,
                "what": SETTINGS[name][2],
            }
            for name, s in self.config.settings.items()
        ]

    def document(self) -> dict[str, Any]:
        path = self.config.path
        return {"file": None if path is None else str(path), "settings": self.rows()}


def settings(config: Config | None = None) -> Settings:
    """The settings the command line was given (read again if it was not)."""
    return Settings(config or load_config())
