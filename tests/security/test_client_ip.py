"""Which address login throttling counts: X-Forwarded-For only from a trusted proxy."""

import pytest
from django.test import RequestFactory

from essentiels.security.client_ip import client_ip


def request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        # no proxy configured (dev, tests): the peer, whatever the header says
        ([], "203.0.113.5", "192.0.2.1", "203.0.113.5"),
        # through nginx on the same machine: the address nginx wrote
        (["127.0.0.1"], "127.0.0.1", "192.0.2.1", "192.0.2.1"),
        # a network of proxies (docker-compose's)
        (["172.16.0.0/12"], "172.18.0.4", "192.0.2.1", "192.0.2.1"),
        # any peer, when only the proxy can reach the app servers
        (["*"], "10.1.2.3", "2001:db8::1", "2001:db8::1"),
        # a peer that is not a proxy cannot choose its address
        (["127.0.0.1"], "203.0.113.5", "192.0.2.1", "203.0.113.5"),
        # a list (a proxy that appends): the last entry, the one our proxy wrote
        (["127.0.0.1"], "127.0.0.1", "6.6.6.6, 192.0.2.1", "192.0.2.1"),
        # a proxy without the header, or with garbage: the proxy's own address
        (["127.0.0.1"], "127.0.0.1", None, "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "not-an-address", "127.0.0.1"),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    assert client_ip(request(remote, forwarded)) == expected
