"""Every setting the service reads from its environment, parsed and checked once at start-up."""

import os
from dataclasses import dataclass
from pathlib import Path

from warehouses.key_pair import MIN_BITS as MIN_RSA_KEY_BITS


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    # Checks every response against the spec: on in tests, off by default in production.
    validate_responses: bool = False
    # Fernet keys, the first encrypts; empty: a key file in data_dir.
    secret_keys: tuple[str, ...] = ()
    rsa_key_bits: int = 4096

    @classmethod
    def from_env(cls, environ=os.environ) -> "Settings":
        data_dir = Path(environ.get("WC_DATA_DIR") or "var")
        return cls(
            database_url=environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'warehouse-connections.sqlite3'}",
            data_dir=data_dir,
            validate_responses=_flag(environ, "WC_VALIDATE_RESPONSES"),
            secret_keys=tuple(key.strip() for key in environ.get("WC_SECRET_KEYS", "").split(",") if key.strip()),
            rsa_key_bits=_rsa_key_bits(environ.get("WC_RSA_KEY_BITS") or "4096"),
        )


def _flag(environ, name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _rsa_key_bits(value: str) -> int:
    if not value.isdigit() or int(value) < MIN_RSA_KEY_BITS:
        raise SettingsError(f"WC_RSA_KEY_BITS must be a whole number of at least {MIN_RSA_KEY_BITS}, not {value!r}")
    return int(value)
