"""The Celery app as configured, and one real round trip through Redis and a worker process."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from essentiels.celery_app import app
from essentiels.tasks import sessions_clear_expired_task

ROOT = Path(__file__).resolve().parents[2]


def test_celery_is_configured_for_safe_redelivery():
    conf = app.conf
    assert conf.broker_url.startswith("redis://")
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_always_eager is False
    assert "clear-expired-sessions" in conf.beat_schedule


@pytest.fixture
def worker():
    """A real Celery worker on the test database and the test Redis broker."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "essentiels.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "essentiels",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_nightly_session_cleanup(worker):
    # given one expired and one live session
    now = timezone.now()
    Session.objects.create(
        session_key="a" * 32, session_data="", expire_date=now - timedelta(days=1)
    )
    Session.objects.create(
        session_key="b" * 32, session_data="", expire_date=now + timedelta(days=1)
    )
    # when the beat's task is sent through Redis to a worker process
    result = sessions_clear_expired_task.delay()
    deleted = result.get(timeout=60)
    # then the worker deleted exactly the expired one
    assert deleted == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]
    assert worker.poll() is None
