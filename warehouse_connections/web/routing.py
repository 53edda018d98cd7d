"""Routing fixes around connexion's: 405s that name every method, and API requests that skip the docs' routes."""

from connexion.middleware import swagger_ui

from handlers.operations import OperationIndex


class SwaggerUIMiddleware(swagger_ui.SwaggerUIMiddleware):
    """connexion's Swagger UI and spec routes, which requests for the API's resources skip.

    connexion matches every request against those routes before passing it on: about 6 % of the work of
    a list request. The docs live at {base}/ui/ and {base}/openapi.json, never under `resources_prefix`,
    so requests there go straight on. The app factory swaps it into connexion's `middlewares` list (which
    `add_middleware` edits); were that list to change, `list.index` fails the start, loudly.
    """

    def __init__(self, app, resources_prefix: str):
        super().__init__(app)
        self.resources_prefix = resources_prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.resources_prefix):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class AllowHeaderMiddleware:
    """405 answers list every method the spec documents for the path in `Allow`.

    connexion routes each operation on its own, so its 405 names only the methods of the first route that
    matched the path (`GET, HEAD` for a path that also takes POST).
    """

    def __init__(self, app, operations: OperationIndex):
        self.app = app
        self.operations = operations

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_allow(message):
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = self.operations.methods(scope["path"])
                if methods:
                    headers = [(name, value) for name, value in message["headers"] if name.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", ", ".join(methods).encode())]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
