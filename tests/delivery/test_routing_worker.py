"""After a cutoff, the date's routes appear by themselves: the beat's task goes through Redis to a
real Celery worker process, which finds the date due and plans it; the next tick plans nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from delivery.calendar import delivery_cutoff, local_today
from delivery.routing.models import PlannedOrder, PlanRun, RoutePlan
from essentiels.celery_app import app
from tests.delivery.factories import DistrictFactory
from tests.delivery.routing_factories import BusFactory, order_at

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker():
    """A real Celery worker on the test database and broker, with a 1-second solver."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "essentiels.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "ROUTING_SOLVER_SECONDS": "1",
    }
    app.control.purge()  # nothing left over from an earlier run reaches this worker
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


def test_after_the_cutoff_the_beat_and_a_worker_plan_the_date_by_themselves(worker):
    # given tomorrow's orders (its cutoff has passed) and a bus working that weekday
    tomorrow = local_today() + timedelta(days=1)
    assert delivery_cutoff(day=tomorrow) < timezone.now()
    district = DistrictFactory(name="Paris 13e Arrondissement", insee_code="75113")
    BusFactory(weekdays=[tomorrow.weekday()], capacity=20)
    orders = [order_at(district, day=tomorrow, line1=f"{n} rue Watt", baskets=2) for n in (1, 2, 3)]
    # and the beat entry that runs the routes' dispatch
    entry = app.conf.beat_schedule["routes-plan-after-cutoff"]
    assert entry["task"] in app.tasks
    # when beat sends it (by name, through Redis, as beat does)
    due = app.send_task(entry["task"]).get(timeout=60)
    # then the worker found the date due, and the planning task it queued writes version 1
    assert due == [tomorrow.isoformat()]
    deadline = time.monotonic() + 90
    while not RoutePlan.objects.filter(delivery_date=tomorrow).exists():
        assert worker.poll() is None, "the worker died"
        assert time.monotonic() < deadline, "no plan appeared"
        time.sleep(0.5)
    plan = RoutePlan.objects.get(delivery_date=tomorrow)
    assert (plan.version, plan.trigger) == (1, "beat")
    placed = PlannedOrder.objects.filter(plan=plan, stop__isnull=False)
    assert sorted(placed.values_list("order_delivery_id", flat=True)) == sorted(
        o.pk for o in orders
    )
    run = PlanRun.objects.get(delivery_date=tomorrow)
    assert (run.status, run.trigger, run.plan_id) == (PlanRun.Status.DONE, "beat", plan.pk)
    # when the next tick comes with nothing changed, then nothing is due and no version is added
    assert app.send_task(entry["task"]).get(timeout=60) == []
    assert RoutePlan.objects.filter(delivery_date=tomorrow).count() == 1
