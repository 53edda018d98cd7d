"""The connection layer: uvicorn's httptools protocol, which tells the app when the server starts shutting down.

uvicorn calls each open connection's `shutdown()` as it begins to shut down (after SIGTERM, once it has stopped
accepting connections); this one first starts the app's Shutdown (web/shutdown.py), found in the lifespan state.
"""

import functools

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from warehouse_connections.settings import Settings
from warehouse_connections.web.shutdown import LIFESPAN_STATE_KEY


def protocol_for(settings: Settings) -> functools.partial:
    """What `uvicorn.run(http=…)` takes: the protocol class with the settings it needs (it is pickled for workers)."""
    return functools.partial(ServiceProtocol, shutdown_timeout=settings.shutdown_timeout)


class ServiceProtocol(HttpToolsProtocol):
    def __init__(self, *args, shutdown_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.shutdown_timeout = shutdown_timeout

    def shutdown(self) -> None:
        shutdown = self.app_state.get(LIFESPAN_STATE_KEY)
        if shutdown is not None:
            shutdown.begin(self.shutdown_timeout)
        super().shutdown()
