"""A resolver the tests control: host names answer from a table, and nothing asks a real DNS server."""

import contextlib
import socket

import pytest

REAL_GETADDRINFO = socket.getaddrinfo


class FakeDns:
    def __init__(self):
        self.answers: dict[str, list[str]] = {}
        self.questions: list[str] = []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        # An address needs no DNS (socket.create_connection asks about the one it is given).
        with contextlib.suppress(socket.gaierror):
            return REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        self.questions.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in self.answers[host]
        ]


@pytest.fixture
def fake_dns(monkeypatch) -> FakeDns:
    """`fake_dns.answers["db.example.com"] = ["93.184.215.14"]`; unknown names do not resolve."""
    dns = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns
