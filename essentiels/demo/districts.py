"""The demo delivery map: the 20 arrondissements and a few suburbs open, each on its weekday.

Idempotent: loads the communes file (districts keyed by INSEE code), then sets the demo
districts' weekday, capacity and fee every time; the other districts stay closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from oscar.apps.address.models import Country

from delivery.models import District, Weekday
from delivery.services.districts import districts_load
from essentiels.roles import roles_sync

MON, TUE, WED, THU, FRI = (
    Weekday.MONDAY,
    Weekday.TUESDAY,
    Weekday.WEDNESDAY,
    Weekday.THURSDAY,
    Weekday.FRIDAY,
)

# Neighbouring arrondissements share a day, so a bus tours one part of Paris per day
# (Paris 13e on Tuesday, as in the original service), four per weekday Monday to Friday.
DEMO_WEEKDAYS: dict[str, int] = {
    # Monday: centre
    "75101": MON, "75102": MON, "75103": MON, "75104": MON,
    # Tuesday: south-east
    "75105": TUE, "75112": TUE, "75113": TUE, "75114": TUE,
    # Wednesday: west and left bank
    "75106": WED, "75107": WED, "75115": WED, "75116": WED,
    # Thursday: north-west
    "75108": THU, "75109": THU, "75117": THU, "75118": THU,
    # Friday: north-east
    "75110": FRI, "75111": FRI, "75119": FRI, "75120": FRI,
    # Suburbs next to the arrondissements delivered that day
    "94080": TUE,  # Vincennes
    "92012": WED,  # Boulogne-Billancourt
    "92040": WED,  # Issy-les-Moulineaux
    "93048": FRI,  # Montreuil
}  # fmt: skip

DEMO_CAPACITY_PARIS = 120
DEMO_CAPACITY_SUBURB = 60
DEMO_FEE = Decimal("4.90")
DEMO_FREE_FROM = Decimal("60.00")


@dataclass
class DemoDistrictsReport:
    districts: int
    opened: int


@transaction.atomic
def districts_load_demo() -> DemoDistrictsReport:
    districts_load()
    opened = 0
    for insee_code, weekday in DEMO_WEEKDAYS.items():
        district = District.objects.get(insee_code=insee_code)
        district.weekday = weekday
        district.capacity = (
            DEMO_CAPACITY_PARIS if insee_code.startswith("75") else DEMO_CAPACITY_SUBURB
        )
        district.shipping_fee = DEMO_FEE
        district.free_shipping_threshold = DEMO_FREE_FROM
        district.is_active = True
        district.save()
        opened += 1
    roles_sync()
    # We deliver in France only: the one country the checkout's address form offers.
    Country.objects.update_or_create(
        iso_3166_1_a2="FR",
        defaults={
            "iso_3166_1_a3": "FRA",
            "iso_3166_1_numeric": "250",
            "name": "République française",
            "printable_name": "France",
            "is_shipping_country": True,
        },
    )
    return DemoDistrictsReport(districts=District.objects.count(), opened=opened)
