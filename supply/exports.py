"""The buyers' XLSX export of the supply page (openpyxl, write-only: constant memory)."""

from __future__ import annotations

import tempfile

from django.utils.translation import gettext as _

from essentiels.spreadsheets import cell_safe
from supply.selectors import SupplyWeek


def supply_xlsx(*, weeks: list[SupplyWeek]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Supply"))
    sheet.append(
        [
            _("Week of"),
            _("Component"),
            _("Demand"),
            _("Reserved"),
            _("Stock"),
            _("Committed supply"),
            _("Shortfall"),
            _("Affected baskets"),
        ]
    )
    for week in weeks:
        for row in week.rows:
            affected = "; ".join(
                f"{basket.title}: {', '.join(day.isoformat() for day in basket.dates)}"
                for basket in row.affected
            )
            sheet.append(
                [
                    cell_safe(week.week.isoformat()),
                    cell_safe(row.title),
                    row.demand,
                    row.reserved,
                    row.stock,
                    row.committed,
                    row.shortfall,
                    cell_safe(affected),
                ]
            )
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        return handle.read()
