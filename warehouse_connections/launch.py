"""The `warehouse-connections` command's entry point, and how start-up builds what lives as long as the process.

Loading the CLI imports about 800 modules; the app then builds its routes and validators from the spec. All
of it lives until the process ends, so the collector has nothing to free there: collections while it is
made, and the first ones after (which walk all of it), took ~150 ms of the time to the first answer.
"""

import contextlib
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Iterator

# Imported by a dependency, unused while the service runs: loaded on first use instead of at start-up.
# connexion imports requests only to fetch remote $refs, and our spec has none (~100 modules, ~60 ms).
DEFERRED_MODULES = frozenset({"requests"})


class DeferredImports(importlib.abc.MetaPathFinder):
    """Finds the modules of DEFERRED_MODULES as usual, and gives them a loader that runs them on first use."""

    def find_spec(self, name, path, target=None):
        if name not in DEFERRED_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def objects_for_life() -> Iterator[None]:
    """Pause the collector while the block runs, then move what it made out of the collector's sight."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def load_cli() -> Callable[[], int]:
    sys.meta_path.insert(0, DeferredImports())
    with objects_for_life():
        from warehouse_connections.cli import main
    return main


def main() -> int:
    return load_cli()()
