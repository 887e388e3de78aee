"""Changes that move the forecast schedule a (debounced) refresh once their transaction commits."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from baskets.models import BasketComponent, BasketSubscription, SubscriptionSkip
from delivery.models import ClosedDate, OrderDelivery
from supply.models import ComponentSubstitution, SupplyCommitment

logger = logging.getLogger(__name__)


def _schedule() -> None:
    from supply.tasks import supply_forecast_refresh_schedule

    try:
        supply_forecast_refresh_schedule()
    except Exception:  # noqa: BLE001 — the nightly run catches up; a sale must not fail for it
        logger.exception("could not schedule the supply forecast refresh")


def _changed(sender, raw=False, **kwargs) -> None:
    if raw:
        return
    transaction.on_commit(_schedule)


for _model in (
    BasketSubscription,
    SubscriptionSkip,
    OrderDelivery,
    BasketComponent,
    ClosedDate,
    SupplyCommitment,
    ComponentSubstitution,
):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"supply.refresh.{_model.__name__}")
    post_delete.connect(
        _changed, sender=_model, dispatch_uid=f"supply.refresh.del.{_model.__name__}"
    )
