"""Cells for CSV and XLSX exports, safe against spreadsheet formula injection.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or
a carriage return) as a formula — openpyxl even writes any string starting with ``=`` as one.
Every export of text that shoppers or staff typed (names, addresses, notes, product titles)
writes its cells through ``cell_safe``.
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
