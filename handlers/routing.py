"""405 answers list every method the spec documents for the path in `Allow`.

connexion routes each operation on its own, so its 405 names only the methods of the first route that
matched the path (`GET, HEAD` for a path that also takes POST).
"""

import re

from handlers.operations import path_base

METHODS = ("get", "put", "post", "delete", "patch")


def allowed_methods(spec: dict, base_path: str) -> list[tuple[re.Pattern, bytes]]:
    """(path regex, Allow value) for each path in the spec."""
    routes = []
    for template, item in spec["paths"].items():
        methods = [method.upper() for method in METHODS if method in item]
        if "GET" in methods:
            methods.append("HEAD")
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path_base(item, base_path) + template))
        routes.append((re.compile(pattern), ", ".join(methods).encode()))
    return routes


class AllowHeaderMiddleware:
    def __init__(self, app, routes: list[tuple[re.Pattern, bytes]]):
        self.app = app
        self.routes = routes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_allow(message):
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = next((value for pattern, value in self.routes if pattern.fullmatch(scope["path"])), None)
                if allow is not None:
                    headers = [(name, value) for name, value in message["headers"] if name.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
