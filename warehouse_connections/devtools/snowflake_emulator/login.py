"""The answer to a login request: the JWT check, the failure modes, and the session it opens."""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any

from warehouse_connections.devtools.snowflake_emulator.keys import verify_jwt
from warehouse_connections.devtools.snowflake_emulator.queries import unquote_identifier
from warehouse_connections.devtools.snowflake_emulator.wire import error, ok

if TYPE_CHECKING:
    from warehouse_connections.devtools.snowflake_emulator.emulator import SnowflakeEmulator

# Upper bound on a "hang" so a leaked request thread cannot outlive a test run by much.
HANG_BOUND_SECONDS = 60.0
# sessionInfo key -> login-request query parameter carrying the requested value.
SESSION_INFO = {
    "databaseName": "databaseName",
    "schemaName": "schemaName",
    "warehouseName": "warehouse",
    "roleName": "roleName",
}


def answer_login(
    emulator: SnowflakeEmulator, entry: dict[str, Any], body: dict[str, Any]
) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, JSON payload); status 0 answers nothing, payload None is a bare HTTP error."""
    data = body.get("data") or {}
    claims, authenticated = verify_jwt(data, emulator._public_key)
    # Logged instead of the token itself: enough to assert on, useless to replay.
    entry.update(
        login={key: data.get(key) for key in ("ACCOUNT_NAME", "LOGIN_NAME", "AUTHENTICATOR")},
        jwt_claims=claims,
        authenticated=authenticated,
    )
    if emulator.login_delay:
        emulator._stopping.wait(emulator.login_delay)
    if emulator.failure in ("http_403", "http_503"):
        return int(emulator.failure[-3:]), None
    if emulator.failure == "hang":
        emulator._stopping.wait(HANG_BOUND_SECONDS)
        return 0, None  # the client has given up by now; answer nothing
    if not authenticated or emulator.failure == "reject_jwt":
        # Snowflake answers every key-pair failure (unknown user, wrong key, expiry) identically.
        return 200, error(
            "390144",
            f"JWT token is invalid. [{uuid.uuid4()}]",
            {"nextAction": "RETRY_LOGIN", "authnMethod": "KEY_PAIR", "signInOptions": {}},
        )
    return 200, ok(open_session(emulator._sessions, entry["params"]))


def open_session(sessions: dict[str, dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    """Adds a session with the context the login's query ``params`` ask for; the login answer's data."""
    # Snowflake reports the resolved (case-folded) names of the session's context.
    session = {name: unquote_identifier(params.get(param, "")) or None for name, param in SESSION_INFO.items()}
    token = secrets.token_urlsafe(24)
    sessions[token] = session
    # AUTOCOMMIT=true as on Snowflake; otherwise `with connect() as conn:` would send COMMIT on exit.
    return {
        "token": token,
        "masterToken": secrets.token_urlsafe(24),
        "validityInSeconds": 3600,
        "masterValidityInSeconds": 14400,
        "sessionId": secrets.randbelow(2**52),
        "parameters": [{"name": "AUTOCOMMIT", "value": True}],
        "sessionInfo": session,
    }
