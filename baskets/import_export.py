"""Bulk import/export of the assortment's prices, cost prices and diets (CSV or XLSX).

One row per grocery stock record, keyed by its SKU. An import either applies every row or none:
any bad row (unknown SKU, a cost that is not a positive number, an unknown diet) is reported with
its line number and nothing is written. Baskets are re-checked once, after the last row.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from baskets.models import Diet, GroceryDiets
from baskets.product_classes import GROCERY_CLASS_SLUG
from baskets.services.rules import rules_deferred
from essentiels.oscar_forks.partner.models import StockRecord


def diets_parse(raw: str | None) -> frozenset[str]:
    codes = frozenset(code.strip() for code in (raw or "").replace(",", ";").split(";"))
    codes -= {""}
    unknown = sorted(codes - set(Diet.values))
    if unknown:
        raise ValidationError(
            {
                "diets": _("Unknown diet “%(codes)s”; use: %(allowed)s.")
                % {"codes": ", ".join(unknown), "allowed": ", ".join(Diet.values)}
            }
        )
    return codes


class StrictDecimalWidget(widgets.DecimalWidget):
    """A decimal with a dot or a French comma; anything else is a row error, not a crash."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str):
            value = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            return super().clean(value, row=row, **kwargs)
        except Exception as exc:
            raise ValueError(_("“%s” is not a number.") % value) from exc


class GroceryCostResource(resources.ModelResource):
    sku = fields.Field(attribute="partner_sku", column_name="sku")
    title = fields.Field(attribute="product__title", column_name="title", readonly=True)
    price = fields.Field(
        attribute="price", column_name="price_incl_tax", widget=StrictDecimalWidget()
    )
    cost_price = fields.Field(
        attribute="cost_price", column_name="cost_price", widget=StrictDecimalWidget()
    )
    diets = fields.Field(column_name="diets", readonly=True)

    class Meta:
        model = StockRecord
        fields = ("sku", "title", "price", "cost_price", "diets")
        import_id_fields = ("sku",)
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = False
        name = "Prix, coûts et régimes"

    def get_queryset(self):
        return (
            StockRecord.objects.filter(product__product_class__slug=GROCERY_CLASS_SLUG)
            .select_related("product__grocery_diets")
            .order_by("partner_sku")
        )

    def dehydrate_diets(self, record: StockRecord) -> str:
        row = getattr(record.product, "grocery_diets", None)
        return ";".join(code for code in Diet.values if row and getattr(row, code))

    def before_import_row(self, row, **kwargs):
        sku = str(row.get("sku") or "").strip()
        row["sku"] = sku
        if not self.get_queryset().filter(partner_sku=sku).exists():
            raise ValidationError(
                _("Unknown SKU “%s”: import updates existing grocery products only.") % sku
            )

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if instance.cost_price is None and "cost_price" not in errors:
            errors["cost_price"] = [_("A cost price is required.")]
        if "diets" in row:
            try:
                instance._imported_diets = diets_parse(row.get("diets"))
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def after_save_instance(self, instance, row, **kwargs):
        diets = getattr(instance, "_imported_diets", None)
        if diets is not None:
            GroceryDiets.objects.update_or_create(
                product_id=instance.product_id,
                defaults={code: code in diets for code in Diet.values},
            )

    def import_data_inner(self, *args, **kwargs):
        # Inside the import's transaction: the re-check is committed or rolled back with it.
        with rules_deferred():
            return super().import_data_inner(*args, **kwargs)
