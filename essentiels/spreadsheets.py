"""Cells for CSV and XLSX exports, safe against spreadsheet formula injection.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or
a carriage return) as a formula — openpyxl even writes any string starting with ``=`` as one.
Every export of text that shoppers or staff typed (names, addresses, notes, product titles)
writes its cells through ``cell_safe``; Oscar's dashboard CSVs (the order list's download, the
reports and the voucher set's codes) through ``FormulaSafeRows``, installed by
``oscar_csv_exports_make_safe``.
"""

from __future__ import annotations

import csv
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


class FormulaSafeRows:
    """A CSV writer (anything with ``writerow``) writing each cell through ``cell_safe``."""

    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row) -> None:
        self._writer.writerow([cell_safe(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


class FormulaSafeCSVWriter(FormulaSafeRows):
    """Oscar's ``UnicodeCSVWriter`` (the dashboard's order download and every report), each cell
    through ``cell_safe``: customers' names and emails are theirs to type."""

    def __init__(self, *args, **kwargs):
        from oscar.core.compat import UnicodeCSVWriter

        super().__init__(UnicodeCSVWriter(*args, **kwargs))

    def __enter__(self):
        self._writer.__enter__()
        return self

    def __exit__(self, *exc):
        return self._writer.__exit__(*exc)


class FormulaSafeCSVModule:
    """The ``csv`` module, but for ``csv.writer``, whose rows go through ``cell_safe``: what
    Oscar's voucher dashboard sees as ``csv`` (its voucher set download writes the codes, which
    staff may type, with ``csv.writer`` directly)."""

    def __getattr__(self, name: str):
        return getattr(csv, name)

    @staticmethod
    def writer(csvfile, *args, **kwargs) -> FormulaSafeRows:
        return FormulaSafeRows(csv.writer(csvfile, *args, **kwargs))


def oscar_csv_exports_make_safe() -> None:
    """Point the three Oscar modules that write CSV at formula-safe writers: the orders
    dashboard and the reports (which the offers' discount download uses too) import
    ``UnicodeCSVWriter`` by name, the vouchers dashboard calls ``csv.writer``. Forking those
    dashboards for one line each would copy far more of Oscar. Called once from
    ``EssentielsConfig.ready``; tests/security/test_export_injection.py downloads each."""
    from oscar.apps.dashboard.orders import views as order_views
    from oscar.apps.dashboard.reports import reports
    from oscar.apps.dashboard.vouchers import views as voucher_views

    order_views.UnicodeCSVWriter = FormulaSafeCSVWriter
    reports.UnicodeCSVWriter = FormulaSafeCSVWriter
    voucher_views.csv = FormulaSafeCSVModule()
