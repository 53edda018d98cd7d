"""What one app owns while it serves: its settings, its API-key cache, its fast path, its shutdown, its
connection-test pool and its bearer-token verifier.

Each app that create_app builds has its own, so two apps in one process share nothing. Handlers find it
through Flask's `current_app.extensions`; code that runs before Flask does (the security function) finds it
in the request's ASGI scope, where AppStateMiddleware puts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flask

from warehouse_connections.settings import Settings
from warehouse_connections.web.caller_cache import CallerCache
from warehouse_connections.web.fast_path import FastPath
from warehouse_connections.web.shutdown import Shutdown
from warehouses.connection_test_pool import ConnectionTestPool

if TYPE_CHECKING:
    # Loads PyJWT: app.py imports it only where bearer tokens are configured.
    from warehouse_connections.tokens.verifier import TokenVerifier

EXTENSION = "warehouse_connections"


@dataclass
class AppState:
    settings: Settings
    callers: CallerCache
    fast_path: FastPath
    shutdown: Shutdown
    tests: ConnectionTestPool
    # None without WC_JWT_JWKS_URL or WC_JWT_JWKS_FILE: bearer tokens are refused.
    tokens: TokenVerifier | None = None
    # Organisations a bearer token has been let into: they exist (organisations are never deleted).
    known_organisations: set[int] = field(default_factory=set)

    async def run_blocking(self, scope, function, *args):
        """`function(*args)` where this request may block: the event loop for an inline read, else a thread."""
        return await self.fast_path.run_blocking(scope, function, *args)


def current() -> AppState:
    """The state of the app serving the current Flask request."""
    return flask.current_app.extensions[EXTENSION]


def of_request(scope) -> AppState:
    return scope["extensions"][EXTENSION]


class AppStateMiddleware:
    def __init__(self, app, state: AppState):
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send):
        scope.setdefault("extensions", {})[EXTENSION] = self.state
        await self.app(scope, receive, send)
