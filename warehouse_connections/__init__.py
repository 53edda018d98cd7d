"""The warehouse-connections service: settings, app factory, CLI and the connection lifecycle."""

import warnings

# connexion 3.3 imports starlette's test client whenever it loads, which warns about httpx on every start.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
