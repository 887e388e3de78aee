"""The one formula-injection guard every CSV/XLSX export writes its cells through."""

from decimal import Decimal

import pytest

from essentiels.spreadsheets import cell_safe


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://evil.example","clic")', "+33 6 12", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(hostile):
    assert cell_safe(hostile) == "'" + hostile


def test_plain_text_and_numbers_are_kept():
    assert cell_safe("Léa Martin") == "Léa Martin"
    assert cell_safe(Decimal("-4.90")) == Decimal("-4.90")
    assert cell_safe(-3) == -3
    assert cell_safe(None) == ""
    assert cell_safe(True) == "True"
