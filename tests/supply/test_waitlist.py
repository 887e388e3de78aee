"""A capped basket's waiting list: shoppers join it and are told, once, when it reopens."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from supply.models import SupplyWaitlistEntry, VariantSupplyCap
from supply.services.waitlist import waitlist_notify_reopened
from supply.tasks import supply_forecast_refresh_task
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, subscription_create

pytestmark = pytest.mark.django_db


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_the_waiting_list_is_told_once_when_staff_lift_the_cap(client):
    # given a basket capped by staff at 1 subscriber, who already has it
    variant = make_variant(components={make_grocery("Lentilles"): 1})
    cap = VariantSupplyCap.objects.create(variant=variant, max_subscriptions=1)
    subscription_create(variant=variant)
    # when two shoppers join its waiting list (one twice, in capitals)
    url = reverse("supply:waitlist", kwargs={"variant_id": variant.pk})
    for email in ("ines@example.fr", "Ines@Example.fr", "paul@example.fr"):
        response = client.post(url, {"email": email})
        assert response.status_code == 200
    assert SupplyWaitlistEntry.objects.count() == 2
    # then nobody is told while it is capped
    assert waitlist_notify_reopened() == 0
    assert not mail.outbox
    # when staff raise the cap and the refresh it schedules runs
    cap.max_subscriptions = 5
    cap.save()
    supply_forecast_refresh_task.run()
    # then each waiting shopper gets one email in French, with the basket's page
    assert sorted(m.to[0] for m in mail.outbox) == ["ines@example.fr", "paul@example.fr"]
    message = mail.outbox[0]
    assert "accepte de nouveaux abonnés" in message.subject
    assert variant.themed_basket.product.slug in message.body
    assert not SupplyWaitlistEntry.objects.filter(notified_at__isnull=True).exists()
    # and a second run sends nothing more
    assert waitlist_notify_reopened() == 0
    assert len(mail.outbox) == 2
    # until a shopper joins again (the basket capped again): told next time too
    client.post(url, {"email": "paul@example.fr"})
    assert waitlist_notify_reopened() == 1
    assert mail.outbox[-1].to == ["paul@example.fr"]


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_a_failed_send_is_tried_again_next_run(monkeypatch):
    variant = make_variant(components={make_grocery(): 1})
    SupplyWaitlistEntry.objects.create(variant=variant, email="lea@example.fr")

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    dispatcher = "oscar.apps.communication.utils.Dispatcher"
    monkeypatch.setattr(f"{dispatcher}.dispatch_direct_messages", broken)
    assert waitlist_notify_reopened() == 0
    assert SupplyWaitlistEntry.objects.get().notified_at is None
    monkeypatch.undo()
    assert waitlist_notify_reopened() == 1
    assert len(mail.outbox) == 1
