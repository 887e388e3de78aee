"""Seeding districts from the communes file, opening and closing them, and the Ops group."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from delivery.models import District, Postcode
from delivery.routing.permissions import ROUTING_OPS_PERMISSIONS

COMMUNES_CSV = Path(__file__).resolve().parent.parent / "data" / "communes_idf.csv"
COORDINATES = Decimal("0.000001")

OPS_GROUP_NAME = "Ops"
# Exactly what ops need, and nothing outside the delivery app (no products, prices, baskets).
OPS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "district": ("view", "change"),
    "postcode": ("view", "add", "change", "delete"),
    "closeddate": ("view", "add", "change", "delete"),
    "deliverydate": ("view", "change"),
    "orderdelivery": ("view",),
    "deliverymove": ("view",),
    "waitlistentry": ("view", "delete"),
    **ROUTING_OPS_PERMISSIONS,
}
# Ops also steer the waiting room live (admissions per minute, active shoppers, on/off) and read
# its change history: app label → model → actions.
OPS_OTHER_APPS_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "waitingroom": {
        "waitingroomsettings": ("view", "change"),
        "waitingroomsettingschange": ("view",),
    },
}


@dataclass(frozen=True)
class CommuneRow:
    insee_code: str
    postcode: str
    name: str
    department: str
    latitude: Decimal
    longitude: Decimal


@dataclass
class DistrictsLoadReport:
    created: int = 0
    updated: int = 0
    postcodes_created: int = 0


def communes_rows(*, path: Path = COMMUNES_CSV) -> list[CommuneRow]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            CommuneRow(
                insee_code=row["insee_code"].strip(),
                postcode=row["postcode"].strip(),
                name=row["name"].strip(),
                department=row["department"].strip(),
                latitude=Decimal(row["lat"]).quantize(COORDINATES),
                longitude=Decimal(row["lon"]).quantize(COORDINATES),
            )
            for row in csv.DictReader(handle)
        ]


@transaction.atomic
def districts_load(*, path: Path = COMMUNES_CSV) -> DistrictsLoadReport:
    """Create or update one district per INSEE code, with its postcodes. Idempotent.

    Only the reference data (name, department, centroid, postcodes) is written: what ops chose
    (open, weekday, capacity, fees, opening date) is never touched by a re-run.
    """
    report = DistrictsLoadReport()
    created: set[str] = set()
    rows = communes_rows(path=path)
    for row in rows:
        district, was_created = District.objects.update_or_create(
            insee_code=row.insee_code,
            defaults={
                "name": row.name,
                "department": row.department,
                "latitude": row.latitude,
                "longitude": row.longitude,
            },
        )
        if was_created:
            created.add(row.insee_code)
        _, postcode_created = Postcode.objects.get_or_create(code=row.postcode, district=district)
        report.postcodes_created += postcode_created
    # The file has one row per (INSEE code, postcode): count communes, not rows.
    codes = {row.insee_code for row in rows}
    report.created = len(created)
    report.updated = len(codes - created)
    return report


@transaction.atomic
def district_open(
    *,
    district_id: int,
    weekday: int | None = None,
    capacity: int | None = None,
    opens_on: date | None = None,
) -> District:
    """Open a district for orders (setting its weekday/capacity if given).

    Raises ValidationError, naming what is missing, when it cannot be delivered yet.
    """
    district = District.objects.select_for_update().get(pk=district_id)
    if district.is_active:
        return district
    if weekday is not None:
        district.weekday = weekday
    if capacity is not None:
        district.capacity = capacity
    if opens_on is not None:
        district.opens_on = opens_on
    problems = []
    if district.weekday is None:
        problems.append(_("choose its delivery weekday"))
    if not district.capacity:
        problems.append(_("give it a capacity above zero"))
    if not district.postcodes.exists():
        problems.append(_("add at least one postcode"))
    if problems:
        raise ValidationError(
            _("%(district)s cannot open yet: %(problems)s.")
            % {"district": district.short_name, "problems": ", ".join(problems)}
        )
    district.is_active = True
    district.save()
    return district


@transaction.atomic
def district_close(*, district_id: int) -> District:
    """Stop taking orders in a district. Orders already booked stay booked."""
    district = District.objects.select_for_update().get(pk=district_id)
    district.is_active = False
    district.save(update_fields=["is_active", "updated_at"])
    return district


def ops_group_ensure() -> Group:
    """The "Ops" group with exactly the delivery permissions. Idempotent (run after migrate)."""
    from django.apps import apps

    create_permissions(apps.get_app_config("delivery"), verbosity=0)
    group, _created = Group.objects.get_or_create(name=OPS_GROUP_NAME)
    wanted = [
        f"{action}_{model}" for model, actions in OPS_PERMISSIONS.items() for action in actions
    ]
    query = Q(content_type__app_label="delivery", codename__in=wanted)
    for app_label, grants in OPS_OTHER_APPS_PERMISSIONS.items():
        if not apps.is_installed(app_label):
            continue
        # Their permissions may not exist yet on a fresh database (migrated after delivery).
        create_permissions(apps.get_app_config(app_label), verbosity=0)
        codenames = [f"{action}_{model}" for model, actions in grants.items() for action in actions]
        query |= Q(content_type__app_label=app_label, codename__in=codenames)
    group.permissions.set(Permission.objects.filter(query))
    return group
