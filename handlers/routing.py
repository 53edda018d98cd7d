"""Two places where connexion's routing falls short, mended in front of it.

- Its 405 names only the methods of the first route matching the path (`GET, HEAD` for a path that
  also takes POST); `AllowHeaderMiddleware` lists every method the spec documents there.
- It routes with Starlette, then Flask routes again with werkzeug, and the two disagree on paths with
  control characters or empty segments (`%0A`, `%2F`): 500s and redirects to other URLs. No path of
  the spec can contain those, so `UnroutablePathMiddleware` answers 404 before either router sees them.
"""

import re

import yaml
from connexion.exceptions import ProblemException

METHODS = ("get", "put", "post", "delete", "patch")
UNROUTABLE = re.compile(r"[\x00-\x1f\x7f]|//")


def allowed_methods(spec_path, base_path: str) -> list[tuple[re.Pattern, bytes]]:
    """(path regex, Allow value) for each path in the spec."""
    spec = yaml.safe_load(spec_path.read_text())
    routes = []
    for template, item in spec["paths"].items():
        methods = [method.upper() for method in METHODS if method in item]
        if "GET" in methods:
            methods.append("HEAD")
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(base_path + template))
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


class UnroutablePathMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and UNROUTABLE.search(scope["path"]):
            raise ProblemException(
                status=404, title="Not Found", detail="No resource has this path: it has control characters or '//'."
            )
        await self.app(scope, receive, send)
