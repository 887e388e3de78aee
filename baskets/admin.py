"""Back-office admin: the assortment (cost prices, diets, import/export) and basket compositions.

Every save goes through the rules (baskets.rules): a composition that breaks one is refused with
the message on the offending field, and a cost or diet change that breaks a published basket
withdraws it and says so.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats

from baskets.import_export import GroceryCostResource
from baskets.models import (
    BasketComponent,
    BasketSubscription,
    BasketTheme,
    BasketVariant,
    Diet,
    GroceryDiets,
    GroceryProduct,
    RuleStatus,
    SubscriptionMessage,
    SubscriptionRenewal,
    SubscriptionSkip,
    SubscriptionStatus,
    ThemedBasket,
)
from baskets.product_classes import GROCERY_CLASS_SLUG
from baskets.rules import cost_ceiling
from baskets.selectors import first_stockrecord, grocery_facts, variants_withdrawn_since
from baskets.services.catalogue import (
    basket_variant_save,
    composition_evaluate,
    grocery_product_class,
    themed_basket_save,
)
from baskets.services.rules import (
    BasketRuleError,
    basket_variant_publish,
    basket_variant_withdraw,
    basket_variants_check,
    rules_deferred,
)
from baskets.services.subscriptions import (
    SubscriptionChangeError,
    subscription_cancel,
    subscription_due_dates,
    subscription_fixed_delivery,
    subscription_pause,
    subscription_resume,
)
from essentiels.admin import ReadOnlyAdmin
from essentiels.oscar_forks.partner.models import StockRecord
from payments.models import StripeOperation


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f} €".replace(".", ",")


def _warn_withdrawn(request, since) -> None:
    withdrawn = variants_withdrawn_since(since=since)
    if withdrawn:
        messages.warning(
            request,
            format_html(
                "{} {}",
                gettext("Withdrawn from sale because they now break a rule:"),
                format_html_join(
                    ", ",
                    "{} ({})",
                    ((v.product.get_title(), "; ".join(v.problem_messages())) for v in withdrawn),
                ),
            ),
        )


# --- Themes -------------------------------------------------------------------------------------


@admin.register(BasketTheme)
class BasketThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "min_components", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        since = timezone.now()
        super().save_model(request, obj, form, change)
        _warn_withdrawn(request, since)


# --- The assortment: grocery products, their cost prices and diets -------------------------------


class StockRecordInline(admin.TabularInline):
    model = StockRecord
    fields = ["partner", "partner_sku", "price", "cost_price", "num_in_stock"]
    extra = 0
    min_num = 1
    verbose_name = _("stock record (price and cost)")


class GroceryDietsInline(admin.StackedInline):
    model = GroceryDiets
    can_delete = False
    verbose_name = _("compatible diets")
    verbose_name_plural = _("compatible diets")


class DietFilter(admin.SimpleListFilter):
    """Products compatible with (or baskets promising) one diet."""

    title = _("diet")
    parameter_name = "diet"
    field_prefix = "grocery_diets__"

    def lookups(self, request, model_admin):
        return Diet.choices

    def queryset(self, request, queryset):
        if self.value() in Diet.values:
            return queryset.filter(**{f"{self.field_prefix}{self.value()}": True})
        return queryset


@admin.register(GroceryProduct)
class GroceryProductAdmin(ImportExportMixin, admin.ModelAdmin):
    resource_classes = [GroceryCostResource]
    # CSV and XLSX only (django-import-export also offers TSV, JSON, YAML and HTML by default):
    # the two formats buyers use, both written through cell_safe.
    formats = [base_formats.CSV, base_formats.XLSX]
    list_display = ["title", "upc", "shelf_price", "cost", "diets", "is_public"]
    list_filter = ["is_public", DietFilter, "categories"]
    search_fields = ["title", "upc"]
    fields = ["title", "upc", "description", "is_public"]
    inlines = [StockRecordInline, GroceryDietsInline]

    # django-import-export lets any staff member import and export unless told otherwise (its
    # IMPORT_EXPORT_*_PERMISSION_CODE settings default to nobody checking): an import creates
    # and changes products and their prices, an export reads them.
    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def process_result(self, result, request):
        # The confirmed import runs the file again; rows the preview passed can fail now (a SKU
        # deleted since, a cost cleared). The resource then rolled everything back, yet
        # django-import-export would log each row as changed and say "Import finished".
        if not (result.has_errors() or result.has_validation_errors()):
            return super().process_result(result, request)
        numbers = {row.number for row in result.invalid_rows}
        numbers.update(number for number, _errors in result.row_errors())
        lines = ", ".join(str(number) for number in sorted(numbers))
        messages.error(
            request,
            gettext(
                "Nothing was imported: lines %(lines)s have errors since the preview. "
                "Import the file again to see them."
            )
            % {"lines": lines or "—"},
        )
        return HttpResponseRedirect(reverse("admin:baskets_groceryproduct_import"))

    def get_export_queryset(self, request):
        # The resource writes stock records (one row per SKU), not products: those of the
        # products the list shows (its search and filters apply). Given products, it wrote
        # rows with every cell empty.
        products = super().get_export_queryset(request)
        return GroceryCostResource().get_queryset().filter(product__in=products.values("pk"))

    def get_queryset(self, request):
        records = first_stockrecord("pk")
        return (
            super()
            .get_queryset(request)
            .filter(product_class__slug=GROCERY_CLASS_SLUG)
            .select_related("grocery_diets")
            .annotate(
                first_price=Subquery(records.values("price")[:1]),
                first_cost=Subquery(records.values("cost_price")[:1]),
            )
        )

    @admin.display(description=_("price incl. VAT"), ordering="first_price")
    def shelf_price(self, obj):
        return _money(obj.first_price)

    @admin.display(description=_("cost price"), ordering="first_cost")
    def cost(self, obj):
        return _money(obj.first_cost)

    @admin.display(description=_("diets"))
    def diets(self, obj):
        row = getattr(obj, "grocery_diets", None)
        return ", ".join(row.diet_labels()) if row else "—"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.product_class = grocery_product_class()
            obj.structure = obj.STANDALONE
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        since = timezone.now()
        with rules_deferred():  # one re-check after the stock records and diets are saved
            super().save_related(request, form, formsets, change)
        _warn_withdrawn(request, since)

    def process_import(self, request, *args, **kwargs):
        since = timezone.now()
        response = super().process_import(request, *args, **kwargs)
        _warn_withdrawn(request, since)
        return response


# --- Themed baskets ----------------------------------------------------------------------------


class ThemedBasketForm(forms.ModelForm):
    title = forms.CharField(label=_("title"), max_length=255)
    upc = forms.CharField(
        label=_("reference (UPC)"),
        max_length=64,
        help_text=_("Unique reference; household sizes get it with a suffix."),
    )
    description = forms.CharField(label=_("description"), widget=forms.Textarea, required=False)

    class Meta:
        model = ThemedBasket
        fields = ["theme", "days", *Diet.values]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            product = self.instance.product
            self.initial.update(
                title=product.title, upc=product.upc, description=product.description
            )
            self.fields["upc"].disabled = True

    def clean_upc(self):
        from oscar.apps.catalogue.models import Product

        upc = self.cleaned_data["upc"].strip()
        others = Product.objects.filter(upc=upc)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.product_id)
        if others.exists():
            raise ValidationError(_("Another product already has this reference."))
        return upc

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not self.errors:
            self._check_variants_still_valid(cleaned)
        return cleaned

    def _check_variants_still_valid(self, cleaned) -> None:
        """A change of theme, days or diets must not break an existing household size."""
        probe = ThemedBasket(
            pk=self.instance.pk,
            product=self.instance.product,
            theme=cleaned["theme"],
            days=cleaned["days"],
            **{code: cleaned[code] for code in Diet.values},
        )
        for variant in self.instance.variants.prefetch_related("components"):
            report = composition_evaluate(
                themed_basket=probe,
                persons=variant.persons,
                lines=[(c.product_id, c.quantity) for c in variant.components.all()],
            )
            for problem in report.problems:
                field = {"diet": None, "too_few": "theme", "ceiling": "days"}.get(problem.code)
                if problem.code == "diet":
                    field = next(
                        (
                            code
                            for code in Diet.values
                            if cleaned[code] and not self.instance.diets.issuperset({code})
                        ),
                        None,
                    )
                message = f"{variant.persons} pers. : {problem.message()}"
                self.add_error(field, message)


class BasketVariantInline(admin.TabularInline):
    model = BasketVariant
    fields = ["persons", "rule_status", "cost_per_person_day", "distinct_components", "edit"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = _("household size")
    verbose_name_plural = _("household sizes (edit each one to change its composition)")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def edit(self, obj):
        url = reverse("admin:baskets_basketvariant_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Edit the composition"))


@admin.register(ThemedBasket)
class ThemedBasketAdmin(admin.ModelAdmin):
    form = ThemedBasketForm
    list_display = ["title", "theme", "days", "diets", "sizes", "published"]
    list_filter = ["theme", "product__is_public"]
    search_fields = ["product__title", "product__upc"]
    inlines = [BasketVariantInline]
    fieldsets = [
        (None, {"fields": ["title", "upc", "description", "theme", "days"]}),
        (_("Diet promises (every component must be compatible)"), {"fields": Diet.values}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("product", "theme")
            .prefetch_related("variants")
        )

    @admin.display(description=_("title"), ordering="product__title")
    def title(self, obj):
        return obj.product.title

    @admin.display(description=_("diets"))
    def diets(self, obj):
        return ", ".join(obj.diet_labels()) or gettext("omnivore")

    @admin.display(description=_("household sizes"))
    def sizes(self, obj):
        return ", ".join(f"{v.persons} ({v.get_rule_status_display()})" for v in obj.variants.all())

    @admin.display(description=_("on sale"), boolean=True)
    def published(self, obj):
        return obj.product.is_public

    def save_model(self, request, obj, form, change):
        since = timezone.now()
        basket = themed_basket_save(
            upc=form.cleaned_data["upc"],
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            theme=form.cleaned_data["theme"],
            days=form.cleaned_data["days"],
            diets=frozenset(code for code in Diet.values if form.cleaned_data[code]),
        )
        obj.pk, obj.product_id = basket.pk, basket.product_id
        obj.refresh_from_db()
        _warn_withdrawn(request, since)


# --- Basket variants and their compositions ----------------------------------------------------


class BasketComponentForm(forms.ModelForm):
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, max_value=999, initial=1)

    class Meta:
        model = BasketComponent
        fields = ["product", "quantity"]


class BasketComponentFormSet(forms.BaseInlineFormSet):
    """Validates the whole composition against the rules before anything is saved."""

    def validate_unique(self):
        # A product entered twice gets a clearer message on its line in clean(); the database
        # constraint stays the last guard.
        return

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        lines: list[tuple[int, int]] = []
        form_of: dict[int, forms.Form] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("product"):
                continue
            product_id = data["product"].pk
            if product_id in form_of:
                form.add_error(
                    "product",
                    _("This product is already in the basket: change its quantity instead."),
                )
                continue
            form_of[product_id] = form
            lines.append((product_id, data["quantity"]))
        if any(self.errors):
            return
        variant = self.instance
        try:
            themed_basket = variant.themed_basket
        except ThemedBasket.DoesNotExist:
            return  # the variant form itself is invalid and says so
        if not variant.persons:
            return
        report = composition_evaluate(
            themed_basket=themed_basket, persons=variant.persons, lines=lines
        )
        general = []
        for problem in report.problems:
            form = form_of.get(problem.product_id)
            if form is not None:
                form.add_error("product", problem.message())
            else:
                general.append(problem.message())
        if general:
            raise ValidationError(general)


class BasketComponentInline(admin.TabularInline):
    model = BasketComponent
    form = BasketComponentForm
    formset = BasketComponentFormSet
    fields = ["product", "quantity"]
    autocomplete_fields = ["product"]
    extra = 3
    verbose_name = _("component")
    verbose_name_plural = _("composition")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class BasketVariantForm(forms.ModelForm):
    price = forms.DecimalField(
        label=_("price incl. VAT"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        localize=True,  # French staff type 19,90
        help_text=_("What the shopper pays for this household size, each week."),
    )
    on_sale = forms.BooleanField(
        label=_("on sale"),
        required=False,
        help_text=_("Only a basket that respects every rule can be put on sale."),
    )

    class Meta:
        model = BasketVariant
        fields = ["themed_basket", "persons"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            record = self.instance.product.stockrecords.order_by("pk").first()
            self.initial["price"] = record.price if record else None
            self.initial["on_sale"] = self.instance.product.is_public


class RuleStatusFilter(admin.SimpleListFilter):
    title = _("rule status")
    parameter_name = "rules"

    def lookups(self, request, model_admin):
        return [*RuleStatus.choices, ("withdrawn", _("Withdrawn by a rule"))]

    def queryset(self, request, queryset):
        if self.value() == "withdrawn":
            return queryset.filter(withdrawn_at__isnull=False, product__is_public=False)
        if self.value() in RuleStatus.values:
            return queryset.filter(rule_status=self.value())
        return queryset


class VariantDietFilter(DietFilter):
    field_prefix = "themed_basket__"


@admin.register(BasketVariant)
class BasketVariantAdmin(admin.ModelAdmin):
    form = BasketVariantForm
    inlines = [BasketComponentInline]
    list_display = [
        "title",
        "theme",
        "persons",
        "shelf_price",
        "per_person_day",
        "distinct_components",
        "margin",
        "rule_status",
        "on_sale",
        "problems",
    ]
    list_filter = [RuleStatusFilter, "themed_basket__theme", VariantDietFilter, "persons"]
    search_fields = ["product__title", "product__upc"]
    readonly_fields = ["rules_panel"]
    fields = ["themed_basket", "persons", "price", "on_sale", "rules_panel"]
    actions = ["publish", "withdraw", "recheck"]

    class Media:
        js = ["baskets/admin/live_rules.js"]
        css = {"all": ["baskets/admin/live_rules.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("product", "themed_basket__theme", "themed_basket__product")
            .annotate(first_price=Subquery(first_stockrecord("product").values("price")[:1]))
        )

    @admin.display(description=_("basket"), ordering="product__title")
    def title(self, obj):
        return obj.product.title

    @admin.display(description=_("theme"), ordering="themed_basket__theme__name")
    def theme(self, obj):
        return obj.themed_basket.theme.name

    @admin.display(description=_("price incl. VAT"), ordering="first_price")
    def shelf_price(self, obj):
        return _money(obj.first_price)

    @admin.display(description=_("cost per person-day"), ordering="cost_per_person_day")
    def per_person_day(self, obj):
        return _money(obj.cost_per_person_day)

    @admin.display(description=_("margin excl. VAT"))
    def margin(self, obj):
        if obj.first_price is None or obj.cost_total is None:
            return "—"
        return _money(variant_margin(price=obj.first_price, cost=obj.cost_total))

    @admin.display(description=_("on sale"), boolean=True, ordering="product__is_public")
    def on_sale(self, obj):
        return obj.product.is_public

    @admin.display(description=_("broken rules"))
    def problems(self, obj):
        return format_html_join("", "<div>{}</div>", ((m,) for m in obj.problem_messages()))

    @admin.display(description=_("rules, live"))
    def rules_panel(self, obj):
        # Filled and kept current by live_rules.js while the composition is edited.
        return format_html(
            '<div id="live-rules" data-facts-url="{}" data-ceiling="{}" role="status" '
            'aria-live="polite">{}</div>',
            reverse("admin:baskets_basketvariant_facts"),
            cost_ceiling(),
            format_html_join("", "<div>{}</div>", ((m,) for m in obj.problem_messages()))
            if obj.pk
            else "",
        )

    def get_urls(self):
        return [
            path(
                "facts/",
                self.admin_site.admin_view(self.facts_view),
                name="baskets_basketvariant_facts",
            ),
            *super().get_urls(),
        ]

    def facts_view(self, request):
        """JSON for live_rules.js: costs and diets of products, the basket's days and promises."""
        if not self.has_view_or_change_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        ids = [int(i) for i in request.GET.get("products", "").split(",") if i.isdigit()]
        facts = grocery_facts(product_ids=ids[:500])
        body = {
            "products": {
                str(pid): {
                    "title": f.title,
                    "cost": None if f.cost_price is None else str(f.cost_price),
                    "diets": sorted(f.diets),
                    "in_assortment": f.in_assortment,
                }
                for pid, f in facts.items()
            }
        }
        basket_id = request.GET.get("basket", "")
        if basket_id.isdigit():
            basket = ThemedBasket.objects.select_related("theme").filter(pk=basket_id).first()
            if basket:
                body["basket"] = {
                    "days": basket.days,
                    "diets": sorted(basket.diets),
                    "min_components": basket.theme.min_components,
                    "theme": basket.theme.name,
                }
        return JsonResponse(body)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        variant = basket_variant_save(
            themed_basket=form.cleaned_data["themed_basket"],
            persons=form.cleaned_data["persons"],
            price=form.cleaned_data["price"],
            variant=obj if change else None,
        )
        obj.pk, obj.product_id = variant.pk, variant.product_id

    def save_related(self, request, form, formsets, change):
        variant = form.instance
        with rules_deferred():
            super().save_related(request, form, formsets, change)
        if form.cleaned_data["on_sale"]:
            basket_variant_publish(variant_id=variant.pk)
        else:
            basket_variant_withdraw(variant_id=variant.pk)

    @admin.action(description=_("Put on sale (if every rule holds)"))
    def publish(self, request, queryset):
        published, refused = 0, []
        for variant in queryset:
            try:
                basket_variant_publish(variant_id=variant.pk)
                published += 1
            except BasketRuleError as exc:
                refused.append(f"{variant.product.get_title()}: {exc}")
        if published:
            messages.success(request, gettext("%d put on sale.") % published)
        for line in refused:
            messages.error(request, line)

    @admin.action(description=_("Withdraw from sale"))
    def withdraw(self, request, queryset):
        for variant in queryset:
            basket_variant_withdraw(variant_id=variant.pk)
        messages.success(request, gettext("%d withdrawn from sale.") % queryset.count())

    @admin.action(description=_("Check the rules again"))
    def recheck(self, request, queryset):
        since = timezone.now()
        reports = basket_variants_check(variant_ids=list(queryset.values_list("pk", flat=True)))
        valid = sum(report.ok for report in reports.values())
        messages.info(
            request,
            gettext("%(valid)d of %(total)d valid.") % {"valid": valid, "total": len(reports)},
        )
        _warn_withdrawn(request, since)


def variant_margin(
    *, price: Decimal, cost: Decimal, vat_rate: Decimal = Decimal("0.055")
) -> Decimal:
    """Margin excl. VAT: shelf price without VAT (food rate) minus composition cost."""
    return (price / (1 + vat_rate) - cost).quantize(Decimal("0.01"))


# --- Subscriptions: customer care reads everything and acts through the services ---------------
# Nothing on a subscription is edited as a field: its status, pause and cancellation change only
# through baskets.services.subscriptions (row-locked, cutoff-aware), its Stripe ids only through
# checkout and payments. Staff with ``baskets.change_basketsubscription`` get the actions (pause
# until a date, resume, cancel with a reason), logged in the admin's history under their name.


class StaffPauseForm(forms.Form):
    until = forms.DateField(
        label=_("Pause until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Deliveries resume on the first delivery date on or after this date."),
    )


class StaffCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept on the subscription, for the record."),
    )


class SubscriptionRenewalInline(admin.TabularInline):
    model = SubscriptionRenewal
    extra = 0
    can_delete = False
    fields = ("delivery_date", "status", "order_link", "attempts", "error", "next_retry_at")
    readonly_fields = fields
    ordering = ("-delivery_date",)
    verbose_name_plural = _("renewals (one order per delivery date)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("order"))
    def order_link(self, obj):
        return _order_link(obj.order)


class SubscriptionSkipInline(admin.TabularInline):
    model = SubscriptionSkip
    extra = 0
    can_delete = False
    fields = ("delivery_date", "created_at")
    readonly_fields = fields
    verbose_name_plural = _("skipped weeks")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SubscriptionMessageInline(admin.TabularInline):
    model = SubscriptionMessage
    extra = 0
    can_delete = False
    fields = ("kind", "subject", "delivery_date", "created_at", "sent_at")
    readonly_fields = fields
    verbose_name_plural = _("emails sent to the shopper")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _order_link(order) -> str:
    if order is None:
        return "—"
    url = reverse("dashboard:order-detail", kwargs={"number": order.number})
    return format_html('<a href="{}">{}</a>', url, order.number)


def _date(day) -> str:
    return formats.date_format(day, "l j F Y")


class SubscriptionBasketFilter(admin.SimpleListFilter):
    """By basket (all its household sizes); the choices are read in one query."""

    title = _("basket")
    parameter_name = "basket"

    def lookups(self, request, model_admin):
        return [
            (str(pk), title)
            for pk, title in ThemedBasket.objects.order_by("product__title").values_list(
                "pk", "product__title"
            )
        ]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(variant__themed_basket_id=int(self.value()))
        return queryset


class SubscriptionThemeFilter(admin.SimpleListFilter):
    title = _("theme")
    parameter_name = "theme"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in BasketTheme.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(variant__themed_basket__theme_id=int(self.value()))
        return queryset


@admin.register(BasketSubscription)
class BasketSubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "customer",
        "basket",
        "quantity",
        "district",
        "weekday",
        "status_label",
        "created_at",
    )
    list_display_links = ("pk", "customer")
    list_filter = (
        "status",
        SubscriptionThemeFilter,
        SubscriptionBasketFilter,
        ("district", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("user", "variant__product", "district")
    search_fields = (
        "user__email",
        "user__first_name",
        "user__last_name",
        "first_name",
        "last_name",
        "postcode",
    )
    search_help_text = _("Customer email or name, or postcode.")
    date_hierarchy = "created_at"
    actions = ["pause_action", "resume_action", "cancel_action"]
    inlines = [SubscriptionRenewalInline, SubscriptionSkipInline, SubscriptionMessageInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "customer",
                    "variant",
                    "quantity",
                    "status",
                    "paused_until",
                    "paused_at",
                    "cancelled_at",
                    "cancel_reason",
                    "starts_on",
                    "coming_deliveries",
                    "first_order_link",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        (
            _("Delivery address"),
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "line1",
                    "line2",
                    "postcode",
                    "line4",
                    "country",
                    "phone_number",
                    "notes",
                    "district",
                ]
            },
        ),
        (_("Card"), {"fields": ["stripe_customer_id", "stripe_payment_method_id"]}),
        (_("Payment history"), {"fields": ["payment_history"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Every field: the page is a record; changes are the actions above it.
        return [name for _title, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False  # subscriptions start at checkout

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: the renewals and orders stay linked to it

    # --- list columns ---

    @admin.display(description=_("customer"), ordering="user__email")
    def customer(self, obj):
        # list_select_related loads the user: no query per row.
        name = obj.user.get_full_name() or f"{obj.first_name} {obj.last_name}".strip()
        if not name:
            return obj.user.email
        return format_html("{}<br><small>{}</small>", obj.user.email, name)

    @admin.display(description=_("basket"), ordering="variant__product__title")
    def basket(self, obj):
        return obj.variant.product.title

    @admin.display(description=_("delivery weekday"), ordering="district__weekday")
    def weekday(self, obj):
        return obj.district.get_weekday_display() or "—"

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj):
        if obj.status == SubscriptionStatus.PAUSED and obj.paused_until:
            return gettext("Paused until %(date)s") % {
                "date": formats.date_format(obj.paused_until, "SHORT_DATE_FORMAT")
            }
        return obj.get_status_display()

    # --- change page panels ---

    @admin.display(description=_("coming deliveries"))
    def coming_deliveries(self, obj):
        now = timezone.now()
        fixed = subscription_fixed_delivery(subscription=obj, now=now)
        due = subscription_due_dates(subscription=obj, count=4, now=now)
        lines = []
        if fixed is not None:
            lines.append(
                gettext("%(date)s (order fixed: its cutoff has passed)") % {"date": _date(fixed)}
            )
        lines += [_date(day) for day in due if day != fixed]
        if not lines:
            return "—"
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description=_("first order"))
    def first_order_link(self, obj):
        return _order_link(obj.first_order)

    @admin.display(description=_("Stripe operations of its orders"))
    def payment_history(self, obj):
        numbers = [
            number
            for number in obj.renewals.exclude(order__isnull=True).values_list(
                "order__number", flat=True
            )
        ]
        if obj.first_order_id:
            numbers.append(obj.first_order.number)
        operations = StripeOperation.objects.filter(order_number__in=numbers).order_by(
            "-created_at", "-pk"
        )
        rows = [
            (
                formats.date_format(timezone.localtime(op.created_at), "SHORT_DATETIME_FORMAT"),
                op.order_number,
                op.get_kind_display(),
                op.get_status_display(),
                "—" if op.amount is None else f"{_money(op.amount)}",
                op.stripe_id or "—",
                op.error or "",
            )
            for op in operations
        ]
        if not rows:
            return gettext("No payment recorded yet.")
        headers = [
            gettext("date"),
            gettext("order"),
            gettext("kind"),
            gettext("status"),
            gettext("amount"),
            gettext("Stripe id"),
            gettext("error"),
        ]
        return format_html(
            '<table class="subscription-payments"><thead><tr>{}</tr></thead>'
            "<tbody>{}</tbody></table>",
            format_html_join("", "<th>{}</th>", ((h,) for h in headers)),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td><td>{}</td></tr>",
                rows,
            ),
        )

    # --- the change page is a record with three buttons ---

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            raise PermissionDenied  # no field is edited here; see the actions
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        def view(fn, name):
            return path(
                f"<int:object_id>/{name}/",
                self.admin_site.admin_view(fn),
                name=f"baskets_basketsubscription_{name}",
            )

        return [
            view(self.pause_view, "pause"),
            view(self.resume_view, "resume"),
            view(self.cancel_view, "cancel"),
            *super().get_urls(),
        ]

    def _acting_on(self, request, object_id) -> BasketSubscription:
        subscription = get_object_or_404(
            BasketSubscription.objects.select_related("user", "variant__product"), pk=object_id
        )
        if not self.has_change_permission(request, subscription):
            raise PermissionDenied
        return subscription

    def _change_url(self, subscription) -> str:
        return reverse("admin:baskets_basketsubscription_change", args=[subscription.pk])

    def pause_view(self, request, object_id):
        subscription = self._acting_on(request, object_id)
        form = StaffPauseForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            self._apply(request, [subscription], "pause", form.cleaned_data)
            return HttpResponseRedirect(self._change_url(subscription))
        return self._form_page(request, form, [subscription], "pause")

    def cancel_view(self, request, object_id):
        subscription = self._acting_on(request, object_id)
        form = StaffCancelForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            self._apply(request, [subscription], "cancel", form.cleaned_data)
            return HttpResponseRedirect(self._change_url(subscription))
        return self._form_page(request, form, [subscription], "cancel")

    def resume_view(self, request, object_id):
        subscription = self._acting_on(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._apply(request, [subscription], "resume", {})
        return HttpResponseRedirect(self._change_url(subscription))

    # --- the same actions on a selection of the list ---

    @admin.action(description=_("Pause until a date…"), permissions=["change"])
    def pause_action(self, request, queryset):
        form = StaffPauseForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._apply(request, list(queryset), "pause", form.cleaned_data)
            return None
        return self._form_page(request, form, list(queryset), "pause", action="pause_action")

    @admin.action(description=_("Resume"), permissions=["change"])
    def resume_action(self, request, queryset):
        self._apply(request, list(queryset), "resume", {})

    @admin.action(description=_("Cancel with a reason…"), permissions=["change"])
    def cancel_action(self, request, queryset):
        form = StaffCancelForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._apply(request, list(queryset), "cancel", form.cleaned_data)
            return None
        return self._form_page(request, form, list(queryset), "cancel", action="cancel_action")

    def _form_page(self, request, form, subscriptions, kind, *, action=""):
        titles = {
            "pause": gettext("Pause deliveries"),
            "cancel": gettext("Cancel the subscription"),
        }
        context = {
            **self.admin_site.each_context(request),
            "title": titles[kind],
            "opts": self.opts,
            "form": form,
            "kind": kind,
            "subscriptions": subscriptions,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "back_url": self._change_url(subscriptions[0])
            if not action
            else reverse("admin:baskets_basketsubscription_changelist"),
        }
        return TemplateResponse(
            request, "admin/baskets/basketsubscription/staff_action.html", context
        )

    def _apply(self, request, subscriptions, kind, data) -> None:
        """Run the service on each subscription; refusals become admin errors, successes are
        logged under the staff member's name."""
        done = 0
        for subscription in subscriptions:
            try:
                if kind == "pause":
                    subscription_pause(subscription_id=subscription.pk, until=data["until"])
                    entry = gettext("Paused until %(date)s by customer care.") % {
                        "date": data["until"].isoformat()
                    }
                elif kind == "resume":
                    if subscription.status != SubscriptionStatus.PAUSED:
                        raise SubscriptionChangeError(gettext("This subscription is not paused."))
                    subscription_resume(subscription_id=subscription.pk)
                    entry = gettext("Resumed by customer care.")
                else:
                    if subscription.status == SubscriptionStatus.CANCELLED:
                        raise SubscriptionChangeError(gettext("This subscription is cancelled."))
                    subscription_cancel(subscription_id=subscription.pk, reason=data["reason"])
                    entry = gettext("Cancelled by customer care: %(reason)s") % {
                        "reason": data["reason"].strip()
                    }
            except SubscriptionChangeError as exc:
                messages.error(request, f"#{subscription.pk} ({subscription.user.email}): {exc}")
                continue
            self.log_change(request, subscription, entry)
            done += 1
        if done:
            success = {
                "pause": gettext("%(count)d subscription(s) paused."),
                "resume": gettext("%(count)d subscription(s) resumed."),
                "cancel": gettext("%(count)d subscription(s) cancelled."),
            }[kind]
            messages.success(request, success % {"count": done})


@admin.register(SubscriptionRenewal)
class SubscriptionRenewalAdmin(ReadOnlyAdmin):
    list_display = ("subscription", "delivery_date", "status", "order", "attempts")
    list_filter = ("status", "delivery_date")
    list_select_related = ("subscription", "order")
    search_fields = ("subscription__user__email", "order__number", "payment_intent_id")
    date_hierarchy = "delivery_date"
