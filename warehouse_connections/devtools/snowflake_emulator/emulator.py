"""Loopback emulator of the Snowflake HTTP API, driven by the real snowflake-connector-python 5.x.

fakesnow patches the 4.x Python internals and cannot intercept the 5.x Rust core, so this module
speaks the wire protocol instead. Point the connector at it with
``connect(..., **emulator.connect_kwargs())`` (host/port/protocol="http").
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from warehouse_connections.devtools.snowflake_emulator.keys import (
    KEY_SLOTS,
    account_locator,
    public_key_fingerprint,
    resolve_public_keys,
)
from warehouse_connections.devtools.snowflake_emulator.login import answer_login
from warehouse_connections.devtools.snowflake_emulator.queries import answer_query, unquote_identifier
from warehouse_connections.devtools.snowflake_emulator.wire import ok


class SnowflakeEmulator:
    """Threaded HTTP server on 127.0.0.1 answering login, query, logout and telemetry requests."""

    host = "127.0.0.1"

    def __init__(self, port: int = 0) -> None:
        """Binds 127.0.0.1:`port` (0: a free port) at once; OSError if it cannot."""
        # None, or how login misbehaves: "reject_jwt" (390144 even for the right key), a refusal of
        # login.REFUSALS ("role_not_granted", "user_disabled", "user_locked", "ip_not_allowed", "trial_ended"),
        # "http_403" (an unknown account), "http_503", or "hang" (no answer until stop()).
        self.failure: str | None = None
        # What the session cannot use, though the login asked for it: "warehouseName", "databaseName",
        # "schemaName" (Snowflake logs in anyway and leaves them unset).
        self.unusable: set[str] = set()
        # What the role may not do: "stage_read", "stage_write", "create_table" (003001).
        self.denied: set[str] = set()
        # The warehouse is suspended and a resource monitor keeps it so (090073 for statements that need it).
        self.warehouse_cannot_resume = False
        # Seconds each login waits before it is answered, as set when it arrived: a slow account, for races.
        self.login_delay = 0.0
        # For users nobody registered: (account locator, USER) -> {slot: base64 public key} of the keys it holds. Lets
        # connections made on the fly (a fuzzer's, the command's) authenticate as if their setup scripts had run.
        self.resolve_user: Callable[[str, str], dict[str, str]] | None = None
        # Every stage exists, on every account: for the same connections.
        self.every_stage_exists = False
        # One dict per request: method, path, query params and, where relevant, login data or SQL.
        self.requests: list[dict[str, Any]] = []
        # (account locator, USER) -> {RSA_PUBLIC_KEY or RSA_PUBLIC_KEY_2: the key it holds there}
        self._users: dict[tuple[str, str], dict[str, rsa.RSAPublicKey]] = {}
        # Stages that exist (add_stage); a missing stage is just one never added.
        self._stages: set[tuple[str, str, str]] = set()
        self._stage_files: dict[tuple[str, ...], set[str]] = {}
        self._sessions: dict[str, dict[str, Any]] = {}
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((self.host, port), _make_handler(self))
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

    def register_user(
        self, account_identifier: str, user: str, public_key_b64: str, slot: str = "RSA_PUBLIC_KEY"
    ) -> None:
        """Like ``ALTER USER … SET <slot>='<base64 DER SubjectPublicKeyInfo>'``: the user's other key stays."""
        if slot not in KEY_SLOTS:
            raise ValueError(f"a user holds keys in {KEY_SLOTS}, not {slot!r}")
        key = serialization.load_der_public_key(base64.b64decode("".join(public_key_b64.split())))
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("Snowflake key-pair authentication needs an RSA public key")
        self._users.setdefault((account_locator(account_identifier), user.upper()), {})[slot] = key

    def unset_key(self, account_identifier: str, user: str, slot: str) -> None:
        """Like ``ALTER USER … UNSET <slot>``."""
        self._users.get((account_locator(account_identifier), user.upper()), {}).pop(slot, None)

    def public_keys(self, account_identifier: str, user: str) -> dict[str, str]:
        """What DESC USER shows of the user's keys: {slot: fingerprint}."""
        keys = self._keys_of(account_locator(account_identifier), user.upper())
        return {slot: public_key_fingerprint(key) for slot, key in keys.items()}

    def add_stage(self, database: str, schema: str, stage: str) -> None:
        self._stages.add((unquote_identifier(database), unquote_identifier(schema), unquote_identifier(stage)))

    def stage_files(self, database: str, schema: str, stage: str) -> set[str]:
        """The files in a stage, by path under it (what COPY INTO @stage/… unloaded and REMOVE left)."""
        key = (unquote_identifier(database), unquote_identifier(schema), unquote_identifier(stage))
        return set(self._stage_files.get(key, ()))

    def paths(self) -> list[str]:
        return [entry["path"] for entry in self.requests]

    def _keys_of(self, account: str, user: str) -> dict[str, rsa.RSAPublicKey]:
        """The keys of (account locator, USER) by slot: the registered ones, else what resolve_user gives."""
        return self._users.get((account, user)) or resolve_public_keys(self.resolve_user, account, user)


def _make_handler(emulator: SnowflakeEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlsplit(self.path)
            params = {key: values[0] for key, values in parse_qs(url.query).items()}
            # Each handler annotates its own entry: requests (e.g. telemetry and a query) can overlap.
            entry = {"method": self.command, "path": url.path, "params": params}
            if url.path == "/session/v1/login-request":
                # Fixed before the login shows in `requests`: a test that sees it may change login_delay at once.
                entry["delay"] = emulator.login_delay
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
                status, payload = answer_login(emulator, entry, body)
            elif url.path == "/queries/v1/query-request":
                status, payload = 200, answer_query(emulator, entry, token, body)
            elif url.path == "/session" and params.get("delete") == "true":
                emulator._sessions.pop(token or "", None)
                status, payload = 200, ok()
            elif url.path == "/telemetry/send":
                status, payload = 200, ok()
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
