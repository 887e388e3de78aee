import socket

import pytest
from django.test import override_settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_healthz_is_200_when_database_cache_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
        "failed": [],
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_naming_redis_when_redis_is_down(client, settings):
    # given Redis (cache and broker) pointed at a closed port
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    caches = {"default": {**settings.CACHES["default"], "LOCATION": dead}}
    with override_settings(CACHES=caches, CELERY_BROKER_URL=dead):
        # when the load balancer probes
        response = client.get("/healthz")
    # then it answers 503 and names what failed, while the database is still fine
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["broker", "cache"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"].startswith("error:")
