"""Which addresses a customer-supplied warehouse host may make us connect to: public unicast ones only.

A host in a customer's config is a way into our network (SSRF): loopback, private ranges, the cloud metadata
service. The guard resolves the host, refuses it if any of its addresses is not public, and hands back the
addresses it checked, so that the caller connects to those and a DNS answer that changes between check and
connect cannot redirect it. Operators whose warehouses are on a private network lift the guard
(WC_ALLOW_PRIVATE_HOSTS); the addresses are still resolved and can still be asked about.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass

from warehouses import reach
from warehouses.reach import HostNotFound, ResolverTimeout

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Checked in order, so a specific range comes before the one that contains it.
_FORBIDDEN_IPV4 = [
    (ipaddress.ip_network(network), reason)
    for network, reason in [
        ("0.0.0.0/8", "unspecified"),  # 0.0.0.0 itself reaches this machine on Linux
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("169.254.169.254/32", "link-local (the cloud metadata service)"),
        ("169.254.0.0/16", "link-local"),
        ("100.64.0.0/10", "shared address space (CGNAT, 100.64.0.0/10)"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
        ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
        ("192.88.99.0/24", "reserved (6to4 relay anycast)"),
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("198.18.0.0/15", "benchmarking"),
    ]
]
_FORBIDDEN_IPV6 = [
    (ipaddress.ip_network(network), reason)
    for network, reason in [
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fe80::/10", "link-local"),
        ("fc00::/7", "unique-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("2001:2::/48", "benchmarking"),
    ]
]
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

# One part of an IPv4 address as inet_aton reads it: hexadecimal, octal (a leading 0) or decimal.
_IPV4_PART = r"(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)"
_IPV4_SPELLING = re.compile(rf"{_IPV4_PART}(?:\.{_IPV4_PART}){{0,3}}")


class HostNotAllowed(Exception):
    """The host is, or resolves to, an address that connections may not reach."""

    def __init__(self, host: str, address: Address, reason: str):
        super().__init__(
            f"The host {host} has the address {address}, which is {reason}: warehouse connections reach public "
            "addresses only."
        )
        self.host = host
        self.address = address
        self.reason = reason


@dataclass(frozen=True)
class CheckedHost:
    """The addresses a host denotes or resolves to, in the resolver's order: connect to these, not the name."""

    host: str
    addresses: tuple[Address, ...]

    @property
    def all_private(self) -> bool:
        """Every address is one the guard refuses (only possible with allow_private): no public hop."""
        return all(forbidden_reason(address) is not None for address in self.addresses)


def check_host(host: str, port: int, timeout: float, allow_private: bool) -> CheckedHost:
    """The host's addresses, every one of them public unless `allow_private`.

    Raises HostNotAllowed (for the first forbidden address), HostNotFound or ResolverTimeout.
    """
    literal = literal_address(host)
    addresses = (literal,) if literal is not None else resolve_addresses(host, port, timeout)
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is not None:
                raise HostNotAllowed(host, address, reason)
    return CheckedHost(host, addresses)


def resolve_addresses(host: str, port: int, timeout: float) -> tuple[Address, ...]:
    """Every distinct IP address the resolver gives for host, within `timeout` (HostNotFound, ResolverTimeout)."""
    found = [
        _sockaddr_address(family, sockaddr)
        for family, _type, _proto, _canonname, sockaddr in reach.resolve(host, port, timeout)
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not found:
        raise HostNotFound(host, "no IPv4 or IPv6 address")
    return tuple(dict.fromkeys(found))


def _sockaddr_address(family: int, sockaddr: tuple) -> Address:
    # A link-local IPv6 answer carries its interface as a scope id, which connecting to it needs.
    if family == socket.AF_INET6 and sockaddr[3]:
        return ipaddress.IPv6Address(f"{sockaddr[0]}%{sockaddr[3]}")
    return ipaddress.ip_address(sockaddr[0])


def literal_address(host: str) -> Address | None:
    """The address `host` spells without DNS, as the system resolver reads it; None for a name.

    IPv4 as inet_aton reads it (0177.0.0.1, 0x7f.1, 2130706433, 127.1); IPv6 bare, bracketed ([::1]) or with
    a zone (fe80::1%eth0). Like socket.getaddrinfo, a non-ASCII host is read after IDNA encoding (so
    fullwidth digits are digits).
    """
    try:
        text = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if text.startswith("[") and text.endswith("]"):
        return _ipv6(text[1:-1])
    if ":" in text:
        return _ipv6(text)
    return _ipv4(text)


def forbidden_reason(address: Address) -> str | None:
    """None for a public unicast address; else why connections may not reach it ("loopback", ...)."""
    if address.version == 4:
        return _ipv4_reason(address)
    return _ipv6_reason(address)


def _ipv4_reason(address: ipaddress.IPv4Address) -> str | None:
    for network, reason in _FORBIDDEN_IPV4:
        if address in network:
            return reason
    # Whatever Python knows as not globally reachable and the table above does not name.
    return None if address.is_global else "reserved"


def _ipv6_reason(address: ipaddress.IPv6Address) -> str | None:
    for network, reason in _FORBIDDEN_IPV6:
        if address in network:
            return reason
    carried = _embedded_ipv4(address)
    if carried:
        # Each form reaches (or is translated to) the IPv4 address it carries: that address decides.
        form, embedded = carried
        for inner in embedded:
            reason = _ipv4_reason(inner)
            if reason is not None:
                return f"{reason}, as {inner} in {form}"
        return "reserved (IPv4-compatible, deprecated)" if address in _IPV4_COMPATIBLE else None
    # Python 3.11 counts multicast and site-local as global; only 2000::/3 is handed out for unicast.
    if address not in _GLOBAL_UNICAST or not address.is_global:
        return "reserved"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    # Python 3.11's is_loopback, is_private... look at the IPv6 form only: ::ffff:127.0.0.1 is not "loopback".
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped address", [address.ipv4_mapped]
    if address in _NAT64:
        return "a NAT64 address", [_low_32_bits(address)]
    if address.sixtofour is not None:
        return "a 6to4 address", [address.sixtofour]
    if address.teredo is not None:
        return "a Teredo address", list(address.teredo)
    if address in _IPV4_COMPATIBLE:
        return "an IPv4-compatible address", [_low_32_bits(address)]
    return None


def _low_32_bits(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    # glibc's inet_aton: one to four parts, the last filling the bytes the others leave.
    if not _IPV4_SPELLING.fullmatch(text):
        return None
    *leading, last = [_ipv4_part(part) for part in text.split(".")]
    if any(part > 0xFF for part in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for position, part in enumerate(leading):
        value |= part << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _ipv4_part(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part, 16)
    return int(part, 8 if part[0] == "0" else 10)


def _ipv6(text: str) -> ipaddress.IPv6Address | None:
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


__all__ = [
    "Address",
    "CheckedHost",
    "HostNotAllowed",
    "HostNotFound",
    "ResolverTimeout",
    "check_host",
    "forbidden_reason",
    "literal_address",
    "resolve_addresses",
]
