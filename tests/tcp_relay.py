"""A loopback TCP relay the tests put between the service and PostgreSQL, to cut the network in between.

pause() is a partition as the service sees it: established connections stay open and go silent (what the
service sends is taken and held, nothing comes back), and new connections are accepted and never answered.
resume() relays again, what was held first.
"""

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit


class TcpRelay:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._relaying = threading.Event()
        self._relaying.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="tcp-relay", daemon=True).start()

    def reroute(self, url: str) -> str:
        """`url` (a database URL naming the target) with the relay's address in place of the target's."""
        parts = urlsplit(url)
        user, at, _ = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user}{at}127.0.0.1:{self.port}"))

    def pause(self) -> None:
        self._relaying.clear()

    def resume(self) -> None:
        self._relaying.set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._sockets = [self._listener, *self._sockets], []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        # Threads held by a pause see the closed sockets and end.
        self._relaying.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._keep(client)
        # A connection made during a pause reaches the target only when it ends.
        self._relaying.wait()
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        self._keep(server)
        threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()
        self._pipe(client, server)

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            if self._closed:
                sock.close()
            self._sockets.append(sock)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                # Held here while paused: taken from the sender, not passed on.
                self._relaying.wait()
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
