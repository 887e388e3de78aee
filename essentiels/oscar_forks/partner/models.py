"""Oscar's partner models, with a cost price on each stock record.

Oscar 4 has no cost price (removed in 3.0). The €5-per-person-day rule needs one per stock record:
the grocer's purchase price excluding VAT. It is a field here rather than a side table because
the partner app is forked anyway (for the pricing strategy), so it costs no extra join on every
rule check and shows wherever stock records are edited.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from oscar.apps.partner.abstract_models import AbstractStockRecord


class StockRecord(AbstractStockRecord):
    # Nullable: a product may be on the shelf before its buyer enters a cost; a basket holding
    # such a component is invalid until it has one.
    cost_price = models.DecimalField(
        _("Cost price (excl. VAT)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("What the grocer pays the supplier for one unit, excluding VAT."),
    )


from oscar.apps.partner.models import *  # noqa: E402, F403
