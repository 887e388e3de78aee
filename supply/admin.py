"""Back-office: committed supply (buyers), subscription caps, substitutions, waiting lists, and
the supply page (per week: demand, stock, committed supply, shortfall, affected baskets) with its
chart and XLSX export."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from essentiels.admin import ReadOnlyAdmin
from supply.models import (
    ComponentSubstitution,
    PickingTotals,
    SupplyCommitment,
    SupplyWaitlistEntry,
    VariantSupplyCap,
)
from supply.selectors import forecast_last_run, picking_dates, picking_totals, supply_overview
from supply.services.substitutions import SubstitutionError, substitution_problems
from supply.services.weeks import week_of


class SupplyCommitmentForm(forms.ModelForm):
    class Meta:
        model = SupplyCommitment
        fields = ["product", "week", "quantity", "note"]

    def clean_week(self):
        # Any day of the week is accepted and stored as its Monday.
        return week_of(self.cleaned_data["week"])

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity is not None and quantity < 0:
            raise ValidationError(_("A quantity cannot be negative."))
        return quantity


def _chart(weeks) -> dict:
    """Bars of demand vs available (stock carried + committed) per week, for an inline SVG."""
    totals = []
    for week in weeks:
        demand = sum(row.reserved for row in week.rows)
        available = sum(row.stock + row.committed for row in week.rows)
        short = sum(row.shortfall for row in week.rows)
        totals.append((week.week, demand, available, short))
    top = max([1, *(max(d, a) for _w, d, a, _s in totals)])
    height, bar = 160, 28
    bars = []
    for index, (week, demand, available, short) in enumerate(totals):
        x = 40 + index * 90
        bars.append(
            {
                "week": week,
                "x_demand": x,
                "x_available": x + bar + 4,
                "x_label": x,
                "demand": demand,
                "available": available,
                "short": short,
                "h_demand": round(height * demand / top),
                "h_available": round(height * available / top),
                "y_demand": 10 + height - round(height * demand / top),
                "y_available": 10 + height - round(height * available / top),
            }
        )
    return {"bars": bars, "width": 60 + 90 * len(totals), "base": 10 + height, "bar": bar}


@admin.register(SupplyCommitment)
class SupplyCommitmentAdmin(admin.ModelAdmin):
    form = SupplyCommitmentForm
    list_display = ["product", "week", "quantity", "note", "updated_by", "updated_at"]
    list_filter = ["week"]
    search_fields = ["product__title", "product__upc"]
    raw_id_fields = ["product"]
    change_list_template = "supply/admin/commitment_changelist.html"

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("page/", wrap(self.supply_page_view), name="supply_page"),
            path("page.xlsx", wrap(self.supply_xlsx_view), name="supply_page_xlsx"),
            path("refresh/", wrap(self.refresh_view), name="supply_refresh"),
            *super().get_urls(),
        ]

    def _check(self, request: HttpRequest) -> None:
        if not request.user.has_perm("supply.view_supplycommitment"):
            raise PermissionDenied

    def supply_page_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        short_only = request.GET.get("short") == "1"
        weeks = supply_overview(short_only=short_only)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Supply for the coming weeks"),
            "weeks": weeks,
            "short_only": short_only,
            "chart": _chart(supply_overview()),
            "last_run": forecast_last_run(),
        }
        return TemplateResponse(request, "supply/admin/supply_page.html", context)

    def supply_xlsx_view(self, request: HttpRequest) -> HttpResponse:
        from supply.exports import supply_xlsx

        self._check(request)
        content = supply_xlsx(weeks=supply_overview(short_only=request.GET.get("short") == "1"))
        response = HttpResponse(
            content,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="approvisionnement.xlsx"'
        return response

    def refresh_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        if request.method == "POST":
            from supply.tasks import supply_forecast_refresh_task

            supply_forecast_refresh_task.delay()
            messages.info(request, _("The forecast is being refreshed; reload in a minute."))
        return redirect(reverse("admin:supply_page"))


@admin.register(VariantSupplyCap)
class VariantSupplyCapAdmin(admin.ModelAdmin):
    list_display = ["variant", "auto_capped", "max_subscriptions", "updated_at"]
    list_filter = ["auto_capped"]
    fields = ["variant", "max_subscriptions", "auto_capped", "auto_reasons"]
    readonly_fields = ["auto_capped", "auto_reasons"]
    autocomplete_fields = ["variant"]
    search_fields = ["variant__product__title"]


class ComponentSubstitutionForm(forms.ModelForm):
    class Meta:
        model = ComponentSubstitution
        fields = ["product", "substitute", "delivery_date", "reason"]

    def clean(self):
        cleaned = super().clean()
        product, substitute = cleaned.get("product"), cleaned.get("substitute")
        if product and substitute:
            problems = substitution_problems(product_id=product.pk, substitute_id=substitute.pk)
            if problems:
                raise ValidationError({"substitute": problems})
        return cleaned


@admin.register(ComponentSubstitution)
class ComponentSubstitutionAdmin(admin.ModelAdmin):
    form = ComponentSubstitutionForm
    list_display = ["delivery_date", "product", "substitute", "reason", "applied_at"]
    list_filter = ["delivery_date"]
    raw_id_fields = ["product", "substitute"]
    search_fields = ["product__title", "substitute__title"]

    def save_model(self, request, obj, form, change):
        from supply.services.substitutions import substitution_declare

        try:
            saved = substitution_declare(
                product_id=obj.product_id,
                substitute_id=obj.substitute_id,
                delivery_date=obj.delivery_date,
                reason=obj.reason,
                by_id=request.user.pk,
            )
        except SubstitutionError as exc:  # the form checked already; a race changed a cost
            messages.error(request, "; ".join(exc.messages))
            return
        obj.pk = saved.pk


@admin.register(SupplyWaitlistEntry)
class SupplyWaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["variant", "email", "created_at"]
    list_filter = ["variant"]
    search_fields = ["email"]


# --- ops: warehouse picking totals per delivery date --------------------------------------------

# Ops already export the date's manifests (delivery.routing); the same permission opens this.
PICKING_PERMISSIONS = ("delivery.export_manifest_routeplan", "supply.view_supplycommitment")


@admin.register(PickingTotals)
class PickingTotalsAdmin(ReadOnlyAdmin):
    """One page, no rows to edit: per delivery date, every component to pick (placed orders and
    subscriptions still to renew, substitutions applied), exported with the manifests' writers
    (formula-safe CSV, XLSX, PDF). Per bus, the routes' picking lists say the same once planned."""

    def _allowed(self, request: HttpRequest) -> bool:
        return any(request.user.has_perm(perm) for perm in PICKING_PERMISSIONS)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<str:day>.<str:fmt>",
                wrap(self.export_view),
                name="supply_pickingtotals_export",
            ),
            *super().get_urls(),
        ]

    @staticmethod
    def _day(value: str | None):
        from datetime import date

        try:
            return date.fromisoformat(value or "")
        except ValueError:
            return None

    def changelist_view(self, request, extra_context=None):
        from delivery.routing.models import RoutePlan

        if not self._allowed(request):
            raise PermissionDenied
        dates = picking_dates()
        asked = request.GET.get("date")
        day = self._day(asked)
        if asked and day is None:
            messages.error(
                request, _("“%(value)s” is not a date (expected YYYY-MM-DD).") % {"value": asked}
            )
        if day is None and dates:
            day = dates[0][0]
        rows = picking_totals(delivery_date=day) if day else []
        plan = (
            RoutePlan.objects.filter(delivery_date=day).order_by("-version").first()
            if day
            else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Warehouse picking totals"),
            "dates": dates,
            "day": day,
            "rows": rows,
            "totals": {
                "orders": sum(row.from_orders for row in rows),
                "to_renew": sum(row.to_renew for row in rows),
                "total": sum(row.total for row in rows),
            },
            "plan": plan,
            "last_run": forecast_last_run(),
        }
        return TemplateResponse(request, "supply/admin/picking_totals.html", context)

    def export_view(self, request: HttpRequest, day: str, fmt: str) -> HttpResponse:
        from django.http import Http404

        from delivery.routing.manifests import Manifest, manifest_response

        if not self._allowed(request):
            raise PermissionDenied
        delivery_date = self._day(day)
        if delivery_date is None or fmt not in ("csv", "xlsx", "pdf"):
            raise Http404(_("Unknown export."))
        rows = picking_totals(delivery_date=delivery_date)
        manifest = Manifest(
            title=_("Picking totals — %(day)s") % {"day": delivery_date.strftime("%d/%m/%Y")},
            header=[
                _("Product id"),
                _("SKU"),
                _("Product"),
                _("Placed orders"),
                _("Subscriptions to renew"),
                _("Quantity"),
            ],
            rows=(
                [row.product_id, row.sku, row.title, row.from_orders, row.to_renew, row.total]
                for row in rows
            ),
            widths=[3, 4, 14, 4, 4, 4],
        )
        name = f"picking-totals-{delivery_date.isoformat()}"
        return manifest_response(manifest, name=name, fmt=fmt)
