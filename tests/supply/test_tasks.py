"""The refresh is scheduled once per burst of changes, after commit, and runs end to end."""

from __future__ import annotations

import pytest

from supply import tasks
from supply.models import ForecastRun
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import subscription_create

pytestmark = pytest.mark.django_db


def test_a_burst_of_changes_schedules_one_refresh_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        tasks.supply_forecast_refresh_task, "apply_async", lambda **kw: sent.append(kw)
    )
    variant = make_variant(components={make_grocery(): 1})
    # given three subscriptions written in one transaction
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for _ in range(3):
            subscription_create(variant=variant)
    # then nothing is enqueued before the commit
    assert sent == []
    for callback in callbacks:
        callback()
    # and one refresh after it, debounced
    assert sent == [{"countdown": 60}]


def test_a_change_of_stock_on_hand_schedules_a_refresh_and_a_price_change_does_not(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from essentiels.oscar_forks.partner.models import StockRecord

    sent = []
    monkeypatch.setattr(
        tasks.supply_forecast_refresh_task, "apply_async", lambda **kw: sent.append(kw)
    )
    record = StockRecord.objects.get(product=make_grocery())
    cache.delete(tasks.REFRESH_SCHEDULED_KEY)
    # when the warehouse counts a delivery of rice
    with django_capture_on_commit_callbacks(execute=True):
        record.num_in_stock = (record.num_in_stock or 0) + 200
        record.save()
    # then the forecast (coverage, automatic caps) is refreshed
    assert sent == [{"countdown": 60}]
    # and a save of the price alone schedules nothing
    sent.clear()
    cache.delete(tasks.REFRESH_SCHEDULED_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        record.price = record.price + 1
        record.save(update_fields=["price"])
    assert sent == []


def test_refresh_task_runs_the_forecast_and_clears_the_debounce():
    from django.core.cache import cache

    cache.set(tasks.REFRESH_SCHEDULED_KEY, 1)
    tasks.supply_forecast_refresh_task.run()
    assert ForecastRun.objects.count() == 1
    assert cache.get(tasks.REFRESH_SCHEDULED_KEY) is None
