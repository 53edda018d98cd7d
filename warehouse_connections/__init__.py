"""The warehouse-connections process: its entry point and CLI, settings, the app factory, and beside them
`web` (the HTTP stack) and `infrastructure` (logs, metrics, encryption keys). The domain is `warehouses`."""

import warnings

# connexion 3.3 imports starlette's test client whenever it loads, which warns about httpx on every start.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
