"""The demo fleet: one depot at Rungis (the wholesale market south of Paris) and four buses of
100 baskets working Monday to Friday, 09:00–18:00, so that a delivery date's routes can be
planned in the demo. Idempotent (keyed by name)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.db import transaction

from delivery.routing.models import Bus, Depot

WEEKDAYS = [0, 1, 2, 3, 4]


@transaction.atomic
def fleet_load_demo() -> int:
    """Create or refresh the demo depot and buses; returns the number of buses."""
    depot, _ = Depot.objects.update_or_create(
        name="Rungis",
        defaults={
            "address": "1 rue de la Tour, 94150 Rungis",
            "latitude": Decimal("48.747000"),
            "longitude": Decimal("2.351000"),
            "loading_minutes": 30,
        },
    )
    for n in range(1, 5):
        Bus.objects.update_or_create(
            name=f"Bus {n}",
            defaults={
                "depot": depot,
                "plate": f"EE-{n:03d}-LE",
                "capacity": 100,
                "weekdays": WEEKDAYS,
                "shift_start": time(9, 0),
                "shift_end": time(18, 0),
                "is_active": True,
            },
        )
    return 4
