"""The client's IP address, as login throttling counts it.

Behind nginx, ``REMOTE_ADDR`` is nginx's address and the client's is in ``X-Forwarded-For``,
which deploy/nginx/essentiels.conf.template *overwrites* with ``$remote_addr`` (whatever the client
sent in it is dropped). That header is trusted only on a request that comes from one of
``TRUSTED_PROXIES``: anyone reaching the app servers directly could write any address in it, and
so dodge the throttle or lock out someone else's address.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...] | None:
    """The trusted networks; ``None`` stands for "*" (any peer: only the proxy can reach us)."""
    if "*" in trusted:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted if entry)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def is_trusted_proxy(address: str) -> bool:
    trusted = tuple(settings.TRUSTED_PROXIES)
    if not trusted:
        return False
    networks = _networks(trusted)
    if networks is None:
        return True
    peer = _parse(address)
    return peer is not None and any(peer in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the last ``X-Forwarded-For`` entry (the one our proxy wrote) when
    the peer is a trusted proxy, else the peer itself."""
    peer = request.META.get("REMOTE_ADDR", "")
    if is_trusted_proxy(peer):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        candidate = _parse(forwarded.split(",")[-1]) if forwarded else None
        if candidate is not None:
            return str(candidate)
    return peer or None
