"""Every setting the service reads from its environment, parsed and checked once at start-up."""

import ipaddress
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from warehouse_connections.tokens.errors import JwksError
from warehouses.key_pair import MIN_BITS as MIN_RSA_KEY_BITS


class SettingsError(ValueError):
    pass


# Signature algorithms a bearer token may use: asymmetric only. `none` and HMAC (HS*) can never be enabled: an
# HMAC key would be a secret shared with the issuer, and a public key used as one lets anyone sign.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


@dataclass(frozen=True)
class JwtSettings:
    """Where the bearer tokens' keys come from and what a token must say (WC_JWT_*)."""

    issuer: str
    audience: str
    # Exactly one of the two: an https JWKS (http only to loopback), or a JWKS file.
    jwks_url: str | None = None
    jwks_file: Path | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    # The claim mapping organisation ids (strings) to the caller's role there.
    organisations_claim: str = "organisations"


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    # Checks every response against the spec: on in tests, off by default in production.
    validate_responses: bool = False
    # Fernet keys, the first encrypts; empty: a key file in data_dir.
    secret_keys: tuple[str, ...] = ()
    rsa_key_bits: int = 4096
    # Seconds a connection test may spend on each step: reaching the host, logging in, each query.
    snowflake_login_timeout: int = 10
    # Connection tests one process runs at once; one more is answered 503 at once.
    max_concurrent_tests: int = 4
    # http(s)://host[:port] to reach Snowflake at instead of <account>.snowflakecomputing.com.
    snowflake_endpoint: str | None = None
    # Lets a customer's host (PostgreSQL's) be inside a private network: for warehouses on the operator's own.
    allow_private_hosts: bool = False
    # PEM certificates of the authorities PostgreSQL's verify-ca and verify-full trust; None: the system's.
    postgresql_ca_file: Path | None = None
    log_level: str = "INFO"
    # json, text, or auto: text when attached to a terminal.
    log_format: str = "auto"
    # Origins of the dashboards that may call the API from a browser.
    cors_origins: tuple[str, ...] = ()
    # The CSP frame-ancestors sources of the connect page (/connect/): who may embed it; 'none' by default.
    connect_page_frame_ancestors: tuple[str, ...] = ("'none'",)
    # "on": /metrics on the API's port; "off"; or a port of its own.
    metrics: str = "on"
    # Seconds in-flight requests get to finish after SIGTERM.
    shutdown_timeout: int = 10
    # More headers than this are answered 431 (web/guard.py).
    max_headers: int = 100
    # A request line and headers larger than this, in bytes, are answered 431 (web/http_protocol.py).
    max_header_bytes: int = 16 * 1024
    # Seconds from a request's first byte to the end of its headers; then its connection is closed.
    header_timeout: float = 10
    # Seconds from a request's headers to the end of its body; then 408 (web/guard.py), or its connection is
    # closed once it has been answered (web/http_protocol.py).
    body_timeout: float = 10
    # Seconds a connection may wait for its first or next request; then it is closed.
    keep_alive_timeout: int = 5
    # Seconds a worker remembers an API key's owner: a revoked key works for at most this long.
    api_key_cache_seconds: int = 5
    # web/fast_path.py and web/connexion_seam.py: list and get on the event loop, connexion's per-request
    # waste removed; off: connexion's stock path for every request.
    fast_path: bool = True
    # Bearer tokens (WC_JWT_*); None: they are refused, and API keys work alone.
    jwt: JwtSettings | None = None

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
            max_concurrent_tests=_at_least(environ, "WC_MAX_CONCURRENT_TESTS", "4", 1),
            snowflake_endpoint=_endpoint(environ.get("WC_SNOWFLAKE_ENDPOINT") or None),
            allow_private_hosts=_flag(environ, "WC_ALLOW_PRIVATE_HOSTS"),
            postgresql_ca_file=_certificates_file(environ, "WC_POSTGRESQL_CA_FILE"),
            log_level=_choice(environ, "WC_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_format=_choice(environ, "WC_LOG_FORMAT", "auto", ("auto", "json", "text")),
            cors_origins=tuple(o.strip() for o in environ.get("WC_CORS_ORIGINS", "").split(",") if o.strip()),
            connect_page_frame_ancestors=_frame_ancestors(environ.get("WC_CONNECT_PAGE_FRAME_ANCESTORS") or "'none'"),
            metrics=_metrics(environ.get("WC_METRICS") or "on"),
            shutdown_timeout=_seconds(environ, "WC_SHUTDOWN_TIMEOUT", "10"),
            max_headers=_at_least(environ, "WC_MAX_HEADERS", "100", 1),
            # A smaller value is likelier a size in KiB than a limit anyone meant.
            max_header_bytes=_at_least(environ, "WC_MAX_HEADER_BYTES", "16384", 1024),
            header_timeout=_seconds(environ, "WC_HEADER_TIMEOUT", "10"),
            body_timeout=_seconds(environ, "WC_BODY_TIMEOUT", "10"),
            keep_alive_timeout=_seconds(environ, "WC_KEEP_ALIVE_TIMEOUT", "5"),
            api_key_cache_seconds=_whole_number(environ, "WC_API_KEY_CACHE_SECONDS", "5"),
            fast_path=_flag(environ, "WC_FAST_PATH", default=True),
            jwt=_jwt(environ),
        )


def _flag(environ, name: str, default: bool = False) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _certificates_file(environ, name: str) -> Path | None:
    """The path, once it has been read as PEM certificates; None when unset."""
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        ssl.create_default_context(cafile=value)
    except (OSError, ssl.SSLError) as error:
        raise SettingsError(f"{name} must name a readable file of PEM certificates: {error}") from None
    return Path(value)


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


def _choice(environ, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = environ.get(name) or default
    normalised = value.upper() if choices[0].isupper() else value.lower()
    if normalised not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return normalised


# A CSP host-source as an embedding platform names itself: scheme, host (a leading *. allowed) and optional port.
FRAME_ANCESTOR_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


def _frame_ancestors(value: str) -> tuple[str, ...]:
    sources = tuple(value.split())
    if sources == ("'none'",):
        return sources
    if sources and all(source == "'self'" or FRAME_ANCESTOR_ORIGIN.fullmatch(source) for source in sources):
        return sources
    raise SettingsError(
        "WC_CONNECT_PAGE_FRAME_ANCESTORS must be 'none', or space-separated 'self' and http(s)://host[:port] "
        f"origins, not {value!r}"
    )


def _metrics(value: str) -> str:
    if value in ("on", "off") or (value.isdigit() and 0 < int(value) < 65536):
        return value
    raise SettingsError(f"WC_METRICS must be on, off or a port number, not {value!r}")


def _at_least(environ, name: str, default: str, minimum: int) -> int:
    value = environ.get(name) or default
    if not value.isdigit() or int(value) < minimum:
        raise SettingsError(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return int(value)


def _whole_number(environ, name: str, default: str) -> int:
    value = environ.get(name) or default
    if not value.isdigit():
        raise SettingsError(f"{name} must be a whole number (0 or more), not {value!r}")
    return int(value)


def _jwt(environ) -> JwtSettings | None:
    url, file = environ.get("WC_JWT_JWKS_URL") or None, environ.get("WC_JWT_JWKS_FILE") or None
    if url and file:
        raise SettingsError("WC_JWT_JWKS_URL and WC_JWT_JWKS_FILE are both set; set one")
    if not url and not file:
        stray = [name for name in JWT_NAMES if environ.get(name)]
        if stray:
            raise SettingsError(f"{stray[0]} is set but neither WC_JWT_JWKS_URL nor WC_JWT_JWKS_FILE is")
        return None
    algorithms = _algorithms(environ.get("WC_JWT_ALGORITHMS") or "RS256,ES256")
    return JwtSettings(
        issuer=_required(environ, "WC_JWT_ISSUER"),
        audience=_required(environ, "WC_JWT_AUDIENCE"),
        jwks_url=_jwks_url(url) if url else None,
        jwks_file=_jwks_file(file, algorithms) if file else None,
        algorithms=algorithms,
        organisations_claim=(environ.get("WC_JWT_ORGANISATIONS_CLAIM") or "organisations").strip(),
    )


JWT_NAMES = ("WC_JWT_ISSUER", "WC_JWT_AUDIENCE", "WC_JWT_ALGORITHMS", "WC_JWT_ORGANISATIONS_CLAIM")


def _required(environ, name: str) -> str:
    value = (environ.get(name) or "").strip()
    if not value:
        raise SettingsError(f"{name} is required with WC_JWT_JWKS_URL or WC_JWT_JWKS_FILE")
    return value


def _jwks_url(value: str) -> str:
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        url = None
    if url is None or not url.hostname or url.scheme not in ("http", "https"):
        raise SettingsError(f"WC_JWT_JWKS_URL must be an https:// URL, not {value!r}")
    if url.scheme == "http" and not _is_loopback(url.hostname):
        raise SettingsError(f"WC_JWT_JWKS_URL must be https (plain http only to a loopback address), not {value!r}")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _jwks_file(value: str, algorithms: tuple[str, ...]) -> Path:
    """The path, once it has been read as a JWKS with a key for `algorithms`."""
    # Here, not at the top: PyJWT (and with it the RSA code) loads only where bearer tokens are configured.
    from warehouse_connections.tokens.key_set import FileSource, KeySet

    try:
        KeySet(FileSource(Path(value)), algorithms).load()
    except JwksError as error:
        raise SettingsError(f"WC_JWT_JWKS_FILE: {error}") from None
    return Path(value)


def _algorithms(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    refused = [name for name in names if name not in ASYMMETRIC_ALGORITHMS]
    if not names or refused:
        shown = refused[0] if refused else value
        raise SettingsError(
            f"WC_JWT_ALGORITHMS may name only {', '.join(ASYMMETRIC_ALGORITHMS)} (never none or HS*), not {shown!r}"
        )
    return names
