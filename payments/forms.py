from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


class RefundForm(forms.Form):
    """A staff refund from the dashboard's order page. ``sequence`` is the refund number the
    page was rendered with: a double submit is one refund."""

    order_number = forms.CharField(max_length=128, widget=forms.HiddenInput)
    sequence = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    amount = forms.DecimalField(
        label=_("Amount to refund (€)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("Leave empty to refund everything that is left."),
    )
