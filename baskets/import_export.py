"""Bulk import/export of the assortment's prices, cost prices and diets (CSV or XLSX).

One row per grocery stock record, keyed by its SKU. An import either applies every row or none:
any bad row (unknown SKU, an empty price, a cost that is not a positive number, an unknown diet)
is reported with its line number and nothing is written, whoever calls the import. Rows are
written in bulk (no per-row save signals), then diets, then the baskets holding any imported
product are re-checked once, in the same transaction. Measured figures: README, "Benchmarks".
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, instance_loaders, resources, widgets
from tablib import Dataset

from baskets.models import Diet, GroceryDiets
from baskets.product_classes import GROCERY_CLASS_SLUG
from baskets.selectors import variant_ids_containing
from baskets.services.rules import basket_variants_recheck
from essentiels.oscar_forks.partner.models import StockRecord
from essentiels.spreadsheets import cell_safe


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
        use_bulk = True
        batch_size = 500
        instance_loader_class = instance_loaders.CachedInstanceLoader
        name = "Prix, coûts et régimes"

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        """Import in one transaction that rolls back if any row is bad, whatever the caller asks.

        django-import-export rolls back on a row's *validation* error (every error this resource
        reports: unknown SKU, bad number, missing price or cost, unknown diet) only when its
        caller passes ``rollback_on_validation_errors=True``. Its admin does so only when the
        confirmation step is skipped; its confirmed import, and any other caller, leave it
        False, so the good rows were committed beside the reported bad ones.
        """
        return super().import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=raise_errors,
            use_transactions=True,
            collect_failed_rows=collect_failed_rows,
            rollback_on_validation_errors=True,
            **kwargs,
        )

    def get_queryset(self):
        return (
            StockRecord.objects.filter(product__product_class__slug=GROCERY_CLASS_SLUG)
            .select_related("product__grocery_diets")
            .order_by("partner_sku")
        )

    def export_field(self, field, instance, **kwargs):
        # Titles and SKUs are typed by staff: a cell a spreadsheet would run as a formula gets
        # a leading quote (django-import-export's own escaping only drops a leading "=").
        return cell_safe(super().export_field(field, instance, **kwargs))

    def dehydrate_diets(self, record: StockRecord) -> str:
        row = getattr(record.product, "grocery_diets", None)
        return ";".join(code for code in Diet.values if row and getattr(row, code))

    def before_import(self, dataset, **kwargs):
        # PostgreSQL refuses a NUL character in any text, even in a lookup (the instance loader
        # looks every SKU up at once): no SKU, number or diet holds one, so it goes.
        for index, row in enumerate(list(dataset)):
            if any(isinstance(cell, str) and "\x00" in cell for cell in row):
                dataset[index] = tuple(
                    cell.replace("\x00", "") if isinstance(cell, str) else cell for cell in row
                )
        self._known_skus = set(self.get_queryset().values_list("partner_sku", flat=True))
        self._imported_diets: dict[int, frozenset[str]] = {}
        self._imported_products: set[int] = set()

    def before_import_row(self, row, **kwargs):
        sku = str(row.get("sku") or "").strip()
        row["sku"] = sku
        if sku not in self._known_skus:
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
        # An empty cell reads as None, which the widget would write over the shelf price: a
        # file that has the column gives every row a price (a file without it keeps them all).
        if "price_incl_tax" in row and instance.price is None and "price" not in errors:
            errors["price"] = [
                _("A price incl. VAT is required (leave the column out to keep the prices).")
            ]
        if "diets" in row:
            try:
                instance._imported_diets = diets_parse(row.get("diets"))
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def get_bulk_update_fields(self):
        return ["price", "cost_price"]

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # Rows only change price and cost of existing stock records: validate those two fields
        # (validators included) and skip the per-row foreign key and uniqueness queries.
        errors = dict(import_validation_errors or {})
        checked = {"price", "cost_price"} - set(errors)
        try:
            instance.clean_fields(
                exclude=[f.name for f in instance._meta.fields if f.name not in checked]
            )
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def after_save_instance(self, instance, row, **kwargs):
        self._imported_products.add(instance.product_id)
        diets = getattr(instance, "_imported_diets", None)
        if diets is not None:
            self._imported_diets[instance.product_id] = diets

    def import_data_inner(self, dataset, dry_run, raise_errors, using_transactions, *args, **kw):
        if "sku" not in (dataset.headers or []):
            # django-import-export reports the missing column, then walks the rows anyway
            # (a file without a header row crashed there): give it the header alone.
            dataset = Dataset(headers=list(dataset.headers or []))
        # Runs inside the import's transaction: diets and re-checks commit or roll back with it.
        result = super().import_data_inner(
            dataset, dry_run, raise_errors, using_transactions, *args, **kw
        )
        if not (result.has_errors() or result.has_validation_errors()) and (
            using_transactions or not dry_run
        ):
            self._diets_apply()
            basket_variants_recheck(
                variant_ids=variant_ids_containing(product_ids=self._imported_products)
            )
        return result

    def _diets_apply(self) -> None:
        existing = {
            row.product_id: row
            for row in GroceryDiets.objects.filter(product_id__in=list(self._imported_diets))
        }
        created, changed = [], []
        for product_id, diets in self._imported_diets.items():
            row = existing.get(product_id)
            if row is None:
                created.append(
                    GroceryDiets(product_id=product_id, **{c: c in diets for c in Diet.values})
                )
            elif row.diets != diets:
                for code in Diet.values:
                    setattr(row, code, code in diets)
                changed.append(row)
        GroceryDiets.objects.bulk_create(created, batch_size=500)
        GroceryDiets.objects.bulk_update(changed, Diet.values, batch_size=500)
