"""What start-up makes lives as long as the process: the collector need not look at it."""

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def objects_for_life() -> Iterator[None]:
    """Pause the collector while the block runs, then move what it made out of the collector's sight.

    Loading the CLI imports about 800 modules; the app then builds its routes and validators from the spec.
    All of it lives until the process ends, so the collector has nothing to free there: collections while it
    is made, and the first ones after (which walk all of it), took ~150 ms of the time to the first answer.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
