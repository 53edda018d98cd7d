"""Can the warehouse's host be reached at all: the name resolves, the port accepts, TLS completes.

A connector that cannot reach its host words it as a login timeout, which names neither the host nor the
cause; checking the reach first tells a wrong name, a refused port, a firewall, TLS and a timeout apart.
"""

import errno
import socket
import ssl
import threading

from warehouses.steps import StepFailed

UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN})


def check_reach(host: str, port: int, tls: bool, timeout: float, named_by: str) -> None:
    """Raise StepFailed with the cause's own code unless a TCP (and, with `tls`, a TLS) connection opens.

    `named_by` is what in the connection's config names the host, for the hints: "the account identifier".
    """
    where = f"{host}:{port}"
    addresses = _resolve(host, port, timeout, named_by)
    try:
        with socket.create_connection(addresses[0][4][:2], timeout=timeout) as raw:
            if tls:
                with ssl.create_default_context().wrap_socket(raw, server_hostname=host):
                    pass
    except TimeoutError:
        raise _timeout(where, "connecting", timeout) from None
    except ConnectionRefusedError as error:
        raise StepFailed(
            "connection_refused",
            f"{where} refused the connection ({error.strerror}).",
            f"Nothing accepts connections at {where}. Check {named_by}, or the proxy or firewall between us and it.",
        ) from None
    except ssl.SSLError as error:
        raise StepFailed(
            "tls_failed",
            f"The TLS handshake with {where} failed: {error}.",
            f"{host} did not complete a trusted TLS handshake: a proxy that intercepts TLS, or a host that is not "
            f"the warehouse's. Check {named_by} and the network path.",
        ) from None
    except OSError as error:
        if error.errno in UNREACHABLE:
            raise StepFailed(
                "host_unreachable",
                f"{where} cannot be reached ({error.strerror}).",
                f"There is no route to {host}: a firewall or the network stops us. Try again later, or check "
                "the network path.",
                retryable=True,
            ) from None
        raise StepFailed(
            "network_error",
            f"Connecting to {where} failed: {error}.",
            "The network failed while connecting. Try again later.",
            retryable=True,
        ) from None


class HostNotFound(Exception):
    """The name does not resolve; `reason` is the resolver's own words."""

    def __init__(self, host: str, reason: str):
        super().__init__(f"{host} does not resolve ({reason}).")
        self.host = host
        self.reason = reason


class ResolverTimeout(Exception):
    """The resolver gave no answer within the timeout."""

    def __init__(self, host: str, timeout: float):
        super().__init__(f"No answer resolving {host} within {timeout:g} s.")
        self.host = host
        self.timeout = timeout


def resolve(host: str, port: int, timeout: float) -> list:
    """Every (family, type, proto, canonname, sockaddr) getaddrinfo gives for host:port, within `timeout`.

    Raises HostNotFound or ResolverTimeout.
    """
    # getaddrinfo takes no timeout: it runs in a thread of its own, and a resolver slower than `timeout`
    # is a timeout (the thread ends when the resolver gives up).
    outcome: list = []
    resolver = threading.Thread(target=_getaddrinfo, args=(host, port, outcome), daemon=True, name="resolve-host")
    resolver.start()
    resolver.join(timeout)
    if not outcome:
        raise ResolverTimeout(host, timeout)
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


def _resolve(host: str, port: int, timeout: float, named_by: str) -> list:
    try:
        return resolve(host, port, timeout)
    except ResolverTimeout:
        raise _timeout(host, "resolving the name", timeout) from None
    except HostNotFound as error:
        raise StepFailed(
            "host_not_found",
            f"The host name {host} does not resolve ({error.reason}).",
            f"{host} is not a known host name: check {named_by}.",
        ) from None


def _getaddrinfo(host: str, port: int, outcome: list) -> None:
    try:
        outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except socket.gaierror as error:
        outcome.append(HostNotFound(host, error.strerror))
    except UnicodeError:
        # The IDNA codec refuses a label that is empty or longer than 63 characters: no name at all.
        outcome.append(HostNotFound(host, "not a valid host name"))


def _timeout(where: str, doing: str, timeout: float) -> StepFailed:
    return StepFailed(
        "timeout",
        f"No answer from {where} within {timeout:g} s while {doing}.",
        f"{where} did not answer in time. Try again later; if it keeps happening, check the network path.",
        retryable=True,
    )
