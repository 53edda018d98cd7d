"""A routing fix around connexion's: 405s that name every method of the path."""

from warehouse_connections.web.operations import OperationIndex


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
