"""Cells for CSV and XLSX exports, safe against spreadsheet formula injection.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or
a carriage return) as a formula — openpyxl even writes any string starting with ``=`` as one.
Every export of text that shoppers or staff typed (names, addresses, notes, product titles)
writes its cells through ``cell_safe``; Oscar's dashboard CSVs (the order list's download and
the reports) through ``FormulaSafeCSVWriter``, installed by ``oscar_csv_exports_make_safe``.
"""

from __future__ import annotations

from decimal import Decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value):
    """Numbers stay numbers; text a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class FormulaSafeCSVWriter:
    """Oscar's ``UnicodeCSVWriter`` (the dashboard's order download and every report), each cell
    through ``cell_safe``: customers' names and emails are theirs to type."""

    def __init__(self, *args, **kwargs):
        from oscar.core.compat import UnicodeCSVWriter

        self._writer = UnicodeCSVWriter(*args, **kwargs)

    def __enter__(self):
        self._writer.__enter__()
        return self

    def __exit__(self, *exc):
        return self._writer.__exit__(*exc)

    def writerow(self, row) -> None:
        self._writer.writerow([cell_safe(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def oscar_csv_exports_make_safe() -> None:
    """Point the two Oscar modules that write CSV at ``FormulaSafeCSVWriter`` (they import
    ``UnicodeCSVWriter`` by name; forking the orders and reports dashboards for one line each
    would copy far more of Oscar). Called once from ``EssentielsConfig.ready``;
    tests/security/test_export_injection.py downloads both."""
    from oscar.apps.dashboard.orders import views as order_views
    from oscar.apps.dashboard.reports import reports

    order_views.UnicodeCSVWriter = FormulaSafeCSVWriter
    reports.UnicodeCSVWriter = FormulaSafeCSVWriter
