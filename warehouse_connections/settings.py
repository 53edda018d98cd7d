"""Every setting the service reads from its environment, parsed and checked once at start-up."""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

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
    # Seconds a connection test may spend logging in, and on each query.
    snowflake_login_timeout: int = 10
    # http(s)://host[:port] to reach Snowflake at instead of <account>.snowflakecomputing.com.
    snowflake_endpoint: str | None = None

    @classmethod
    def from_env(cls, environ=os.environ) -> "Settings":
        data_dir = Path(environ.get("WC_DATA_DIR") or "var")
        return cls(
            database_url=environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'warehouse-connections.sqlite3'}",
            data_dir=data_dir,
            validate_responses=_flag(environ, "WC_VALIDATE_RESPONSES"),
            secret_keys=tuple(key.strip() for key in environ.get("WC_SECRET_KEYS", "").split(",") if key.strip()),
            rsa_key_bits=_rsa_key_bits(environ.get("WC_RSA_KEY_BITS") or "4096"),
            snowflake_login_timeout=_seconds(environ, "WC_SNOWFLAKE_LOGIN_TIMEOUT", "10"),
            snowflake_endpoint=_endpoint(environ.get("WC_SNOWFLAKE_ENDPOINT") or None),
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


def _seconds(environ, name: str, default: str) -> int:
    value = environ.get(name) or default
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{name} must be a whole number of seconds, at least 1, not {value!r}")
    return int(value)


def _endpoint(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.hostname or url.path.strip("/") or url.query:
        raise SettingsError(f"WC_SNOWFLAKE_ENDPOINT must be http(s)://host[:port], not {value!r}")
    return value
