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
    addresses = _resolve(host, port, timeout, named_by)
    with open_connection(host, addresses[0][4][0], port, timeout, named_by) as raw:
        if tls:
            wrap_tls(raw, ssl.create_default_context(), host, port, named_by).close()


def open_connection(host: str, address: str, port: int, timeout: float, named_by: str) -> socket.socket:
    """A TCP connection to `address` (one of `host`'s), each later read and write bounded by `timeout`.

    Raises StepFailed with the cause's own code; the messages name the host, as the customer knows it.
    """
    where = f"{host}:{port}"
    try:
        return socket.create_connection((address, port), timeout=timeout)
    except TimeoutError:
        raise timeout_failure(where, "connecting", timeout) from None
    except ConnectionRefusedError as error:
        raise StepFailed(
            "connection_refused",
            f"{where} refused the connection ({error.strerror}).",
            f"Nothing accepts connections at {where}. Check {named_by}, or the proxy or firewall between us and it.",
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
        raise network_failure(where, error) from None


def wrap_tls(raw: socket.socket, context: ssl.SSLContext, host: str, port: int, named_by: str) -> ssl.SSLSocket:
    """The TLS handshake on `raw`, as `context` checks it, for `host`'s name; StepFailed if it fails."""
    where = f"{host}:{port}"
    try:
        return context.wrap_socket(raw, server_hostname=host)
    except TimeoutError:
        raise timeout_failure(where, "connecting", raw.gettimeout()) from None
    except ssl.SSLError as error:
        raise StepFailed(
            "tls_failed",
            f"The TLS handshake with {where} failed: {error}.",
            f"{host} did not complete a trusted TLS handshake: a proxy that intercepts TLS, or a host that is not "
            f"the warehouse's. Check {named_by} and the network path.",
        ) from None
    except OSError as error:
        raise network_failure(where, error) from None


def network_failure(where: str, error: OSError) -> StepFailed:
    return StepFailed(
        "network_error",
        f"Connecting to {where} failed: {error}.",
        "The network failed while connecting. Try again later.",
        retryable=True,
    )


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
        raise timeout_failure(host, "resolving the name", timeout) from None
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


def timeout_failure(where: str, doing: str, timeout: float) -> StepFailed:
    return StepFailed(
        "timeout",
        f"No answer from {where} within {timeout:g} s while {doing}.",
        f"{where} did not answer in time. Try again later; if it keeps happening, check the network path.",
        retryable=True,
    )
