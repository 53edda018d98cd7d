"""Every setting the service reads from its environment, parsed and checked once at start-up."""

import os
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    # Checks every response against the spec: on in tests, off by default in production.
    validate_responses: bool = False

    @classmethod
    def from_env(cls, environ=os.environ) -> "Settings":
        data_dir = Path(environ.get("WC_DATA_DIR") or "var")
        return cls(
            database_url=environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'warehouse-connections.sqlite3'}",
            data_dir=data_dir,
            validate_responses=_flag(environ, "WC_VALIDATE_RESPONSES"),
        )


def _flag(environ, name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, not {value!r}")
