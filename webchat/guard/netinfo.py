"""This machine's own network addresses, to print the URLs other machines can open."""

from __future__ import annotations

import ipaddress
import socket
import struct

SIOCGIFADDR = 0x8915  # Linux: the IPv4 address of an interface


def _interface_addresses() -> list[str]:
    try:
        import fcntl
    except ImportError:  # not Unix
        return []
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # interface without an IPv4 address
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine that are not loopback, best first (private)."""
    candidates = set(_interface_addresses())
    try:
        candidates.update(info[4][0] for info in socket.getaddrinfo(
            socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    usable = []
    for text in candidates:
        address = ipaddress.ip_address(text)
        if not (address.is_loopback or address.is_unspecified or address.is_link_local):
            usable.append(address)
    return [str(a) for a in sorted(usable, key=lambda a: (not a.is_private, int(a)))]
