"""URLs: normalisation, the per-host key, the domain allowlist and the private-address guard."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_IGNORED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "#")


def normalize(url: str) -> str:
    """Canonical form used as the URL's identity: lower-case scheme/host, no default port, no fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def absolute(base: str, href: str | None) -> str | None:
    """Resolve a link against its page; None for javascript:, mailto:, anchors and non-HTTP links."""
    if not href:
        return None
    href = href.strip()
    if not href or href.lower().startswith(_IGNORED_SCHEMES):
        return None
    try:
        url = urljoin(base, href)
        if urlsplit(url).scheme not in _DEFAULT_PORTS:
            return None
        return normalize(url)
    except ValueError:  # a malformed port or IPv6 literal in a link: not a link we can follow
        return None


def host_key(url: str) -> str:
    """The unit of politeness: scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def folder_name(url: str) -> str:
    """Folder of a host's raw files: the host name, plus `_port` for a non-default port."""
    parts = urlsplit(url)
    host = (parts.hostname or "unknown").strip("[]").replace(":", "_")
    port = parts.port
    return host if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{host}_{port}"


def domain_entry(url: str) -> str:
    """The allowlist entry that admits a start URL's host (with its port when not the default)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    return host if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"


def allowed(url: str, domains: list[str]) -> bool:
    """Tell whether `url` is inside the allowlist: a domain admits itself and its subdomains on the
    default ports; a `host:port` entry admits exactly that host and port."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        return False
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return False
    for entry in domains:
        entry = entry.lower().strip()
        name, sep, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if sep:
            if host == name and str(port) == entry_port:
                return True
        elif port == _DEFAULT_PORTS[parts.scheme] and (host == entry or host.endswith("." + entry)):
            return True
    return False


def is_public_ip(address: str) -> bool:
    """True for a globally routable address; False for private, loopback, link-local, reserved ones."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def private_addresses(url: str) -> list[str]:
    """The non-public addresses `url`'s host resolves to (empty when all are public).

    Raises OSError when the name does not resolve.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    try:
        return [] if is_public_ip(host) else [host]
    except ValueError:
        pass
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos if not is_public_ip(str(info[4][0]))})
