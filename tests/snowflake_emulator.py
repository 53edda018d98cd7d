"""Loopback emulator of the Snowflake HTTP API, driven by the real snowflake-connector-python 5.x.

fakesnow patches the 4.x Python internals and cannot intercept the 5.x Rust core, so this module
speaks the wire protocol instead. Point the connector at it with
``connect(..., **emulator.connect_kwargs())`` (host/port/protocol="http").

The emulator verifies key-pair JWTs the way Snowflake does (RS256 signature against the registered
RSA_PUBLIC_KEY, ``iss`` fingerprint, ``sub``, ``exp``), so a successful connect proves the key
pair authenticates.  Load it as a plugin with ``pytest_plugins = ["tests.snowflake_emulator"]``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Upper bound on a "hang" so a leaked request thread cannot outlive a test run by much.
HANG_BOUND_SECONDS = 60.0
# Snowflake refuses key-pair JWTs whose lifetime exceeds one hour.
MAX_JWT_LIFETIME_SECONDS = 3600
CLOCK_SKEW_SECONDS = 60
# sessionInfo key -> login-request query parameter carrying the requested value.
SESSION_INFO = {
    "databaseName": "databaseName",
    "schemaName": "schemaName",
    "warehouseName": "warehouse",
    "roleName": "roleName",
}


def account_locator(account_identifier: str) -> str:
    """The account part of JWT claims: upper case, without a ``.region`` suffix (as the connector does)."""
    return account_identifier.split(".", 1)[0].upper()


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """``SHA256:<b64>`` as in Snowflake's RSA_PUBLIC_KEY_FP and the JWT ``iss`` claim."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _unquote_identifier(part: str) -> str:
    # Snowflake folds unquoted identifiers to upper case and keeps quoted ones verbatim.
    return part[1:-1] if part.startswith('"') and part.endswith('"') else part.upper()


def _ok(data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": True, "code": None, "message": None, "data": data}


def _error(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "code": code, "message": message, "data": data, "headers": None}


def _rowtype(name: str, type_: str) -> dict[str, Any]:
    fixed = type_ == "fixed"  # NUMBER(38,0); anything else here is a VARCHAR
    return {
        "name": name,
        "type": type_,
        "nullable": True,
        "precision": 38 if fixed else None,
        "scale": 0 if fixed else None,
        "length": None if fixed else 16777216,
    }


class SnowflakeEmulator:
    """Threaded HTTP server on 127.0.0.1 answering login, query, logout and telemetry requests."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        # None, or how login misbehaves: "reject_jwt" (390144 even for the right key), "http_403",
        # "http_503", or "hang" (no answer until stop()). A missing stage is just one never added.
        self.failure: str | None = None
        # Seconds every login waits before it is answered: a slow account, for races with the API.
        self.login_delay = 0.0
        # For users nobody registered: (account locator, USER) -> base64 public key or None. Lets a fuzzer's
        # connections, made on the fly, authenticate as if their setup scripts had run.
        self.resolve_user: Callable[[str, str], str | None] | None = None
        # Every stage exists, on every account: for the same fuzzer.
        self.every_stage_exists = False
        # One dict per request: method, path, query params and, where relevant, login data or SQL.
        self.requests: list[dict[str, Any]] = []
        self._users: dict[tuple[str, str], rsa.RSAPublicKey] = {}
        self._stages: set[tuple[str, str, str]] = set()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((self.host, 0), _make_handler(self))
        # Daemon request threads: a hung request must never block interpreter exit or server_close().
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="snowflake-emulator", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect_kwargs(self) -> dict[str, Any]:
        """The connect() kwargs that route the connector to this emulator over plain HTTP."""
        return {"host": self.host, "port": self.port, "protocol": "http"}

    def start(self) -> SnowflakeEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases "hang" handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SnowflakeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def register_user(self, account_identifier: str, user: str, public_key_b64: str) -> None:
        """Like ``ALTER USER … SET RSA_PUBLIC_KEY='<base64 DER SubjectPublicKeyInfo>'``."""
        key = serialization.load_der_public_key(base64.b64decode("".join(public_key_b64.split())))
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("Snowflake key-pair authentication needs an RSA public key")
        self._users[(account_locator(account_identifier), user.upper())] = key

    def add_stage(self, database: str, schema: str, stage: str) -> None:
        self._stages.add((_unquote_identifier(database), _unquote_identifier(schema), _unquote_identifier(stage)))

    def paths(self) -> list[str]:
        return [entry["path"] for entry in self.requests]

    # --- request handling -------------------------------------------------------------

    def _login(self, entry: dict[str, Any], body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        data = body.get("data") or {}
        claims, authenticated = self._check_jwt(data)
        # Logged instead of the token itself: enough to assert on, useless to replay.
        entry.update(
            login={key: data.get(key) for key in ("ACCOUNT_NAME", "LOGIN_NAME", "AUTHENTICATOR")},
            jwt_claims=claims,
            authenticated=authenticated,
        )
        if self.login_delay:
            self._stopping.wait(self.login_delay)
        if self.failure in ("http_403", "http_503"):
            return int(self.failure[-3:]), None
        if self.failure == "hang":
            self._stopping.wait(HANG_BOUND_SECONDS)
            return 0, None  # the client has given up by now; answer nothing
        if not authenticated or self.failure == "reject_jwt":
            # Snowflake answers every key-pair failure (unknown user, wrong key, expiry) identically.
            return 200, _error(
                "390144",
                f"JWT token is invalid. [{uuid.uuid4()}]",
                {"nextAction": "RETRY_LOGIN", "authnMethod": "KEY_PAIR", "signInOptions": {}},
            )
        # Snowflake reports the resolved (case-folded) names of the session's context.
        session = {
            name: _unquote_identifier(entry["params"].get(param, "")) or None for name, param in SESSION_INFO.items()
        }
        token = secrets.token_urlsafe(24)
        self._sessions[token] = session
        # AUTOCOMMIT=true as on Snowflake; otherwise `with connect() as conn:` would send COMMIT on exit.
        return 200, _ok(
            {
                "token": token,
                "masterToken": secrets.token_urlsafe(24),
                "validityInSeconds": 3600,
                "masterValidityInSeconds": 14400,
                "sessionId": secrets.randbelow(2**52),
                "parameters": [{"name": "AUTOCOMMIT", "value": True}],
                "sessionInfo": session,
            }
        )

    def _check_jwt(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        """(decoded claims or None, whether the token authenticates the claimed account and user)."""
        try:
            header_b64, claims_b64, signature_b64 = str(data.get("TOKEN")).split(".")
            header, claims = json.loads(_b64url_decode(header_b64)), json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except ValueError:  # not three segments, bad base64 or bad JSON
            return None, False
        account, user = account_locator(str(data.get("ACCOUNT_NAME"))), str(data.get("LOGIN_NAME")).upper()
        subject, public_key = f"{account}.{user}", self._users.get((account, user)) or self._resolve(account, user)
        if public_key is None or header.get("alg") != "RS256" or data.get("AUTHENTICATOR") != "SNOWFLAKE_JWT":
            return claims, False
        try:
            public_key.verify(signature, f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:  # signed by a key other than the registered one
            return claims, False
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        return claims, (
            claims.get("sub") == subject
            and claims.get("iss") == f"{subject}.{public_key_fingerprint(public_key)}"
            and isinstance(iat, int)
            and isinstance(exp, int)
            and iat <= now + CLOCK_SKEW_SECONDS
            and now < exp
            and exp - iat <= MAX_JWT_LIFETIME_SECONDS
        )

    def _resolve(self, account: str, user: str) -> rsa.RSAPublicKey | None:
        public_key_b64 = self.resolve_user(account, user) if self.resolve_user else None
        return serialization.load_der_public_key(base64.b64decode(public_key_b64)) if public_key_b64 else None

    def _query(self, entry: dict[str, Any], token: str | None, body: dict[str, Any]) -> dict[str, Any]:
        sql = entry["sql"] = str(body.get("sqlText", ""))
        session = self._sessions.get(token or "")
        if session is None:
            return _error("390111", "Session no longer exists.  New login required to access the service.")
        query_id = str(uuid.uuid4())
        if re.fullmatch(r"\s*select\s+1\s*;?\s*", sql, re.IGNORECASE):
            return _rowset(query_id, [_rowtype("1", "fixed")], [["1"]])
        match = re.fullmatch(
            r'\s*(?:list|ls)\s+@((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+)){0,2})\s*;?\s*', sql, re.IGNORECASE
        )
        if match is None:
            return _error(
                "000002",
                f"Unsupported feature: the emulator cannot run {sql!r}.",
                {"errorCode": "000002", "sqlState": "0A000", "queryId": query_id},
            )
        parts = [_unquote_identifier(p) for p in re.findall(r'"[^"]+"|[\w$]+', match.group(1))]
        # Unqualified names resolve against the session's current database and schema.
        stage = (session["databaseName"] or "", session["schemaName"] or "")[: 3 - len(parts)] + tuple(parts)
        if stage not in self._stages and not self.every_stage_exists:
            message = f"SQL compilation error:\nStage '{'.'.join(stage)}' does not exist or not authorized."
            return _error("002003", message, {"errorCode": "002003", "sqlState": "02000", "queryId": query_id})
        # LIST's columns; a stage made by add_stage() is empty.
        columns = [
            _rowtype(name, "fixed" if name == "size" else "text") for name in ("name", "size", "md5", "last_modified")
        ]
        return _rowset(query_id, columns, [])


def _rowset(query_id: str, rowtype: list[dict[str, Any]], rows: list[list[str]]) -> dict[str, Any]:
    # 4096 is Snowflake's SELECT statement type; the connector uses it only to derive DML row counts.
    return _ok(
        {
            "rowtype": rowtype,
            "rowset": rows,
            "total": len(rows),
            "returned": len(rows),
            "queryId": query_id,
            "queryResultFormat": "json",
            "statementTypeId": 4096,
            "parameters": [],
        }
    )


def _make_handler(emulator: SnowflakeEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlsplit(self.path)
            params = {key: values[0] for key, values in parse_qs(url.query).items()}
            # Each handler annotates its own entry: requests (e.g. telemetry and a query) can overlap.
            entry = {"method": self.command, "path": url.path, "params": params}
            emulator.requests.append(entry)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                raw = gzip.decompress(raw)
            body = json.loads(raw or b"{}")
            auth = re.fullmatch(r'Snowflake Token="(.*)"', self.headers.get("Authorization", ""))
            token = auth.group(1) if auth else None
            status: int
            payload: dict[str, Any] | None
            if url.path == "/session/v1/login-request":
                status, payload = emulator._login(entry, body)
            elif url.path == "/queries/v1/query-request":
                status, payload = 200, emulator._query(entry, token, body)
            elif url.path == "/session" and params.get("delete") == "true":
                emulator._sessions.pop(token or "", None)
                status, payload = 200, _ok()
            elif url.path == "/telemetry/send":
                status, payload = 200, _ok()
            else:
                status, payload = 404, None
            if status == 0:
                return
            if payload is None:  # what a load balancer/proxy in front of Snowflake sends
                self.send_error(status)
                return
            out = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the requests list is the log; stderr noise would only clutter pytest output

    return Handler


def _keep_connector_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Connector 5.x probes cloud metadata endpoints (169.254.169.254, metadata.google.internal) on
    # connect to report the platform; tests must not leave loopback.
    monkeypatch.setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")


@pytest.fixture
def snowflake_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SnowflakeEmulator]:
    _keep_connector_offline(monkeypatch)
    with SnowflakeEmulator() as emulator:
        yield emulator


@pytest.fixture
def closed_snowflake_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A loopback URL that refuses connections.

    The socket stays bound but never listens, so the port is reserved (no other test can grab it)
    and connecting to it is refused immediately.
    """
    _keep_connector_offline(monkeypatch)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
