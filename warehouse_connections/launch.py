"""The `warehouse-connections` command's entry point: it loads the CLI with as little as the process will use.

Modules the process will not use are not loaded at all, or only on first use; what the CLI loads is made with
the collector paused (warehouse_connections.startup). Nothing imports this module but the entry point.
"""

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from warehouse_connections.startup import objects_for_life

# Imported by a dependency, unused while the service runs: loaded on first use instead of at start-up.
# connexion imports requests only to fetch remote $refs, and our spec has none (~100 modules, ~60 ms); httpx only
# to introspect OAuth tokens, and the service checks its own API keys.
DEFERRED_MODULES = frozenset({"requests", "httpx"})

# Imported by a dependency with `from module import name` (which a deferred module would load at once), for
# what only tests call: a stand-in module takes its place while the CLI loads, and each name loads the real
# module when called. connexion imports starlette's TestClient for FlaskApp.test_client() (~6 % of start-up).
STAND_INS = {"starlette.testclient": ("TestClient",)}

# peewee imports a PostgreSQL driver if one is installed, used or not (psycopg: ~75 modules, ~50 ms).
POSTGRESQL_DRIVERS = frozenset({"psycopg", "psycopg2"})
# The URL schemes open_database() takes for PostgreSQL; anything else (or no DATABASE_URL) is not PostgreSQL.
POSTGRESQL_SCHEMES = ("postgres", "postgresql")


class DeferredImports(importlib.abc.MetaPathFinder):
    """Finds the modules of DEFERRED_MODULES as usual, and gives them a loader that runs them on first use."""

    def find_spec(self, name, path, target=None):
        if name not in DEFERRED_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


class HiddenModules(importlib.abc.MetaPathFinder):
    """Makes the named modules fail to import, as if they were not installed."""

    def __init__(self, names: frozenset[str], reason: str):
        self.names = names
        self.reason = reason

    def find_spec(self, name, path, target=None):
        if name in self.names:
            raise ModuleNotFoundError(f"{name} is not loaded: {self.reason}", name=name)
        return None


def load_cli() -> Callable[[], int]:
    sys.meta_path.insert(0, DeferredImports())
    with objects_for_life(), _without_unused_database_drivers(), _stand_ins(STAND_INS):
        from warehouse_connections.cli import main
    return main


@contextlib.contextmanager
def _stand_ins(stand_ins: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """The named modules are stand-ins while the block runs; an import after it loads the real module."""
    standing_in = [name for name in stand_ins if name not in sys.modules]
    for name in standing_in:
        sys.modules[name] = _stand_in(name, stand_ins[name])
    try:
        yield
    finally:
        for name in standing_in:
            del sys.modules[name]


def _stand_in(module_name: str, names: tuple[str, ...]) -> types.ModuleType:
    module = types.ModuleType(module_name, f"Stands in for {module_name} while the CLI loads.")
    for name in names:
        setattr(module, name, _loaded_on_call(module_name, name))
    return module


def _loaded_on_call(module_name: str, name: str) -> Callable:
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module_name), name)(*args, **kwargs)

    return call


@contextlib.contextmanager
def _without_unused_database_drivers() -> Iterator[None]:
    """On SQLite, peewee loads with no PostgreSQL driver; this process never opens another database."""
    if urlsplit(os.environ.get("DATABASE_URL", "")).scheme in POSTGRESQL_SCHEMES:
        yield
        return
    hidden = HiddenModules(POSTGRESQL_DRIVERS, "DATABASE_URL is not PostgreSQL")
    sys.meta_path.insert(0, hidden)
    try:
        yield
    finally:
        sys.meta_path.remove(hidden)


def main() -> int:
    return load_cli()()
