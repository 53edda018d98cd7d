"""The SSRF guard: a customer's host is refused for any address that is not public, in every spelling."""

import ipaddress
import socket
import threading
import time

import pytest

from warehouses import reach
from warehouses.host_guard import (
    CheckedHost,
    HostNotAllowed,
    HostNotFound,
    ResolverTimeout,
    check_host,
    literal_address,
)
from warehouses.steps import StepFailed

PORT = 5432
TIMEOUT = 5.0


def answers(*addresses: str):
    """A getaddrinfo that answers every name with `addresses`, as the system resolver would shape them."""

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        found = []
        for address in addresses:
            if ":" in address:
                found.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                found.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return found

    return getaddrinfo


def numeric_host(spelling: str):
    """What the system resolver itself reads in a spelling: AI_NUMERICHOST never asks DNS."""
    try:
        [info, *_] = socket.getaddrinfo(spelling, PORT, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        return None
    return ipaddress.ip_address(info[4][0])


def refuse_to_resolve(*_args, **_kwargs):
    raise AssertionError("a literal address must not reach the resolver")


@pytest.mark.parametrize(
    ("host", "address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1", "loopback"),
        ("0177.0.0.1", "127.0.0.1", "loopback"),
        ("0x7f.1", "127.0.0.1", "loopback"),
        ("2130706433", "127.0.0.1", "loopback"),
        ("127.1", "127.0.0.1", "loopback"),
        ("\uff11\uff12\uff17.0.0.1", "127.0.0.1", "loopback"),  # fullwidth digits: getaddrinfo reads 127.0.0.1
        ("::1", "::1", "loopback"),
        ("[::1]", "::1", "loopback"),
        ("10.1.2.3", "10.1.2.3", "private (RFC 1918)"),
        ("172.16.0.1", "172.16.0.1", "private (RFC 1918)"),
        ("192.168.1.1", "192.168.1.1", "private (RFC 1918)"),
        ("169.254.169.254", "169.254.169.254", "link-local (the cloud metadata service)"),
        ("169.254.1.1", "169.254.1.1", "link-local"),
        ("fe80::1%eth0", "fe80::1%eth0", "link-local"),
        ("100.64.0.1", "100.64.0.1", "shared address space (CGNAT, 100.64.0.0/10)"),
        ("fd00:ec2::254", "fd00:ec2::254", "unique-local"),
        ("fec0::1", "fec0::1", "site-local (deprecated)"),
        ("224.0.0.1", "224.0.0.1", "multicast"),
        ("ff02::1", "ff02::1", "multicast"),
        ("0.0.0.0", "0.0.0.0", "unspecified"),
        ("0", "0.0.0.0", "unspecified"),
        ("::", "::", "unspecified"),
        ("240.0.0.1", "240.0.0.1", "reserved"),
        ("255.255.255.255", "255.255.255.255", "broadcast"),
        ("5f00::1", "5f00::1", "reserved"),
        ("100::1", "100::1", "reserved"),
        ("192.0.2.1", "192.0.2.1", "documentation"),
        ("2001:db8::1", "2001:db8::1", "documentation"),
        ("198.18.0.1", "198.18.0.1", "benchmarking"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1", "loopback, as 127.0.0.1 in an IPv4-mapped address"),
        ("[::ffff:10.0.0.1]", "::ffff:10.0.0.1", "private (RFC 1918), as 10.0.0.1 in an IPv4-mapped address"),
        ("::127.0.0.1", "::127.0.0.1", "loopback, as 127.0.0.1 in an IPv4-compatible address"),
        ("::8.8.8.8", "::8.8.8.8", "reserved (IPv4-compatible, deprecated)"),
        (
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "link-local (the cloud metadata service), as 169.254.169.254 in a NAT64 address",
        ),
        ("64:ff9b:1::1", "64:ff9b:1::1", "reserved"),
        ("2002:7f00:1::1", "2002:7f00:1::1", "loopback, as 127.0.0.1 in a 6to4 address"),
        ("2001:0:7f00:1::ffff:fffe", "2001:0:7f00:1::ffff:fffe", "loopback, as 127.0.0.1 in a Teredo address"),
    ],
)
def test_check_host__forbidden_literal__refused_naming_the_address_and_its_class(host, address, reason):
    with pytest.raises(HostNotAllowed) as refused:
        check_host(host, PORT, TIMEOUT, allow_private=False)

    assert (refused.value.host, refused.value.address, refused.value.reason) == (
        host,
        ipaddress.ip_address(address),
        reason,
    )


def test_check_host__forbidden_address__message_names_host_address_and_reason():
    with pytest.raises(HostNotAllowed) as refused:
        check_host("0177.0.0.1", PORT, TIMEOUT, allow_private=False)

    assert str(refused.value) == (
        "The host 0177.0.0.1 has the address 127.0.0.1, which is loopback: warehouse connections reach public "
        "addresses only."
    )


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("8.8.8.8", "8.8.8.8"),
        ("0x08080808", "8.8.8.8"),
        ("2606:4700:4700::1111", "2606:4700:4700::1111"),
        ("[2606:4700:4700::1111]", "2606:4700:4700::1111"),
        ("::ffff:8.8.8.8", "::ffff:8.8.8.8"),
        ("64:ff9b::808:808", "64:ff9b::808:808"),
        ("2002:808:808::1", "2002:808:808::1"),
    ],
)
def test_check_host__public_literal__allowed_without_resolving(host, address, monkeypatch):
    monkeypatch.setattr(reach, "resolve", refuse_to_resolve)

    checked = check_host(host, PORT, TIMEOUT, allow_private=False)

    assert checked == CheckedHost(host, (ipaddress.ip_address(address),))
    assert checked.all_private is False


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("1.2.65535", "1.2.255.255"),
        ("1.16777215", "1.255.255.255"),
        ("000000127.0.0.1", "87.0.0.1"),  # leading zeros make it octal
        ("00", "0.0.0.0"),
        ("::1", "::1"),
        ("fe80::1%1", "fe80::1%1"),
        ("db.example.com", None),
        ("0x.1", None),
        ("08.0.0.1", None),
        ("4294967296", None),
        ("1.2.65536", None),
        ("256.0.0.1", None),
        ("127.0.0.1.", None),
        (" 127.0.0.1", None),
        ("1.2.3.4 x", None),
        ("", None),
    ],
)
def test_literal_address__spelling__read_as_the_system_resolver_reads_it(spelling, address):
    expected = None if address is None else ipaddress.ip_address(address)

    assert literal_address(spelling) == expected
    assert numeric_host(spelling) == (None if expected is None else type(expected)(int(expected)))  # no zone


@pytest.mark.parametrize(
    ("spelling", "address"),
    [("[::1]", "::1"), ("[fe80::1%eth0]", "fe80::1%eth0"), ("[127.0.0.1]", None), ("a..b", None), ("[db]", None)],
)
def test_literal_address__brackets_and_bad_names__ipv6_only_inside_brackets(spelling, address):
    assert literal_address(spelling) == (None if address is None else ipaddress.ip_address(address))


def test_check_host__localhost__refused_as_loopback():
    with pytest.raises(HostNotAllowed) as refused:
        check_host("localhost", PORT, TIMEOUT, allow_private=False)

    assert refused.value.reason == "loopback"


def test_check_host__name_with_one_private_answer_among_public__refused_naming_it(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", answers("8.8.8.8", "10.0.0.5", "2606:4700:4700::1111"))

    with pytest.raises(HostNotAllowed) as refused:
        check_host("db.example.com", PORT, TIMEOUT, allow_private=False)

    assert str(refused.value) == (
        "The host db.example.com has the address 10.0.0.5, which is private (RFC 1918): warehouse connections "
        "reach public addresses only."
    )


def test_check_host__name_with_public_answers__gives_each_once_in_the_resolvers_order(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", answers("8.8.4.4", "2606:4700:4700::1111", "8.8.4.4"))

    checked = check_host("db.example.com", PORT, TIMEOUT, allow_private=False)

    assert checked.addresses == (ipaddress.ip_address("8.8.4.4"), ipaddress.ip_address("2606:4700:4700::1111"))
    assert checked.all_private is False


@pytest.mark.parametrize(
    ("resolved", "all_private"),
    [(("8.8.8.8", "10.0.0.5"), False), (("10.0.0.5", "fd00::5"), True), (("127.0.0.1",), True)],
)
def test_check_host__allow_private__nothing_refused_and_says_whether_all_are_private(
    resolved, all_private, monkeypatch
):
    monkeypatch.setattr(socket, "getaddrinfo", answers(*resolved))

    checked = check_host("db.internal", PORT, TIMEOUT, allow_private=True)

    assert checked.addresses == tuple(ipaddress.ip_address(address) for address in resolved)
    assert checked.all_private is all_private


def test_check_host__allow_private_literal__gives_the_literal(monkeypatch):
    monkeypatch.setattr(reach, "resolve", refuse_to_resolve)

    checked = check_host("0x7f.1", PORT, TIMEOUT, allow_private=True)

    assert (checked.addresses, checked.all_private) == ((ipaddress.ip_address("127.0.0.1"),), True)


def test_check_host__link_local_answer__keeps_its_interface(monkeypatch):
    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1", port, 0, 2))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    checked = check_host("db.internal", PORT, TIMEOUT, allow_private=True)

    assert checked.addresses == (ipaddress.ip_address("fe80::1%2"),)


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "Name or service not known"),
        (UnicodeError("label empty or too long"), "not a valid host name"),
    ],
)
def test_check_host__name_does_not_resolve__raises_host_not_found_with_the_resolvers_words(raised, reason, monkeypatch):
    def getaddrinfo(*_args, **_kwargs):
        raise raised

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    with pytest.raises(HostNotFound) as not_found:
        check_host("nosuchhost.example", PORT, TIMEOUT, allow_private=False)

    assert (not_found.value.host, not_found.value.reason) == ("nosuchhost.example", reason)


@pytest.fixture
def hanging_resolver(monkeypatch):
    """getaddrinfo that answers nothing until the test ends."""
    released = threading.Event()

    def getaddrinfo(*_args, **_kwargs):
        released.wait()
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    released.set()


def test_check_host__resolver_hangs__raises_resolver_timeout_within_the_timeout(hanging_resolver):
    started = time.monotonic()

    with pytest.raises(ResolverTimeout) as timed_out:
        check_host("slow.example", PORT, 0.2, allow_private=False)

    assert time.monotonic() - started < 2
    assert (timed_out.value.host, timed_out.value.timeout) == ("slow.example", 0.2)


def test_reach__resolver_hangs__fails_as_before_the_shared_resolver(hanging_resolver):
    with pytest.raises(StepFailed) as failed:
        reach.check_reach("slow.example", 443, tls=True, timeout=0.2, named_by="the account identifier")

    assert (failed.value.code, failed.value.message, failed.value.retryable) == (
        "timeout",
        "No answer from slow.example within 0.2 s while resolving the name.",
        True,
    )
