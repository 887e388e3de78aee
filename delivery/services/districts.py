"""Seeding districts from the communes file, opening and closing them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from delivery.models import District, Postcode

COMMUNES_CSV = Path(__file__).resolve().parent.parent / "data" / "communes_idf.csv"
COORDINATES = Decimal("0.000001")


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
