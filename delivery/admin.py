"""Ops' back-office: districts, postcodes, closed dates, delivery dates (table and chart),
bookings, moves and the waitlist. Thin: every change goes through delivery.services."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from delivery.calendar import local_today
from delivery.forms import DistrictRescheduleForm
from delivery.models import (
    ClosedDate,
    DeliveryDate,
    DeliveryMove,
    District,
    OrderDelivery,
    Postcode,
    WaitlistEntry,
)
from delivery.selectors import delivery_chart, district_next_delivery, waitlist_by_postcode
from delivery.services.booking import order_delivery_release
from delivery.services.districts import district_close, district_open
from delivery.services.reschedule import (
    RescheduleImpossibleError,
    district_reschedule,
    district_reschedule_plan,
)
from delivery.tasks import delivery_moves_notify_task, district_reschedule_task


def _fill_bar(booked: int, capacity: int) -> str:
    percent = min(100, round(100 * booked / capacity)) if capacity else 0
    colour = "#c0392b" if percent >= 100 else "#e67e22" if percent >= 80 else "#27ae60"
    return format_html(
        '<div title="{}/{}" style="width:120px;background:#eee;height:10px">'
        '<div style="width:{}%;background:{};height:10px"></div></div>',
        booked,
        capacity,
        percent,
        colour,
    )


class PostcodeInline(admin.TabularInline):
    model = Postcode
    extra = 0


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "insee_code",
        "department",
        "is_active",
        "weekday",
        "capacity",
        "next_delivery",
        "waitlist",
    ]
    list_filter = ["is_active", "department", "weekday"]
    search_fields = ["name", "insee_code", "postcodes__code"]
    inlines = [PostcodeInline]
    actions = ["open_districts", "close_districts"]
    fieldsets = [
        (None, {"fields": ["name", "insee_code", "department", "latitude", "longitude"]}),
        (
            _("Delivery"),
            {
                "fields": [
                    "is_active",
                    "weekday",
                    "capacity",
                    "opens_on",
                    "shipping_fee",
                    "free_shipping_threshold",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(waitlist_count=Count("waitlist_entries", distinct=True))
        )

    def get_readonly_fields(self, request, obj=None):
        # Once shoppers are booked, the day and capacity change only through the reschedule
        # page, which shows who would move before anything does.
        if obj is not None and self._has_upcoming_bookings(obj):
            return ["insee_code", "weekday", "capacity"]
        return ["insee_code"] if obj is not None else []

    @staticmethod
    def _has_upcoming_bookings(district: District) -> bool:
        return (
            OrderDelivery.objects.upcoming(today=local_today()).filter(district=district).exists()
        )

    @admin.display(description=_("next delivery"))
    def next_delivery(self, obj: District):
        if not obj.is_active:
            return "—"
        nxt = district_next_delivery(district=obj)
        if nxt is None or nxt.date is None:
            return gettext("full")
        return nxt.date

    @admin.display(description=_("waitlist"), ordering="waitlist_count")
    def waitlist(self, obj: District) -> int:
        return obj.waitlist_count

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not (change and {"weekday", "capacity"} & set(form.changed_data)):
            return
        # Editable here only while nobody is booked on an upcoming date (else: the reschedule
        # page). Upcoming dates follow the new capacity; a booking that slipped in meanwhile is
        # re-planned by the reschedule service: moved and its shopper told, never left behind.
        if "capacity" in form.changed_data:
            DeliveryDate.objects.filter(
                district=obj, date__gte=local_today(), booked__lte=obj.capacity
            ).update(capacity=obj.capacity, updated_at=timezone.now())
        if district_reschedule(district_id=obj.pk):
            transaction.on_commit(delivery_moves_notify_task.delay)

    # --- actions ---------------------------------------------------------------------------
    @admin.action(description=_("Open the selected districts"), permissions=["change"])
    def open_districts(self, request, queryset):
        opened = 0
        for district in queryset:
            try:
                district_open(district_id=district.pk)
                opened += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        if opened:
            self.message_user(
                request,
                ngettext("%d district opened.", "%d districts opened.", opened) % opened,
                messages.SUCCESS,
            )

    @admin.action(description=_("Close the selected districts"), permissions=["change"])
    def close_districts(self, request, queryset):
        for district in queryset:
            district_close(district_id=district.pk)
        self.message_user(
            request,
            gettext("Closed: no new orders. Deliveries already booked are kept."),
            messages.SUCCESS,
        )

    # --- reschedule and chart pages -------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:district_id>/reschedule/",
                wrap(self.reschedule_view),
                name="delivery_district_reschedule",
            ),
            path("<int:district_id>/chart/", wrap(self.chart_view), name="delivery_district_chart"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["reschedule_url"] = reverse(
            "admin:delivery_district_reschedule", args=[object_id]
        )
        extra_context["chart_url"] = reverse("admin:delivery_district_chart", args=[object_id])
        return super().change_view(request, object_id, form_url, extra_context)

    change_form_template = "delivery/admin/district_change_form.html"

    def reschedule_view(self, request: HttpRequest, district_id: int) -> HttpResponse:
        district = get_object_or_404(District, pk=district_id)
        if not self.has_change_permission(request, district):
            raise PermissionDenied
        initial = {"weekday": district.weekday, "capacity": district.capacity}
        form = DistrictRescheduleForm(request.POST or None, initial=initial)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": district,
            "district": district,
            "form": form,
            "title": gettext("Change the delivery day or capacity of %(district)s")
            % {"district": district.short_name},
            "plan": None,
            "error": None,
        }
        if request.method == "POST" and form.is_valid():
            weekday, capacity = form.cleaned_data["weekday"], form.cleaned_data["capacity"]
            try:
                plan = district_reschedule_plan(
                    district_id=district.pk, weekday=weekday, capacity=capacity
                )
            except RescheduleImpossibleError as exc:
                context["error"] = str(exc)
                return TemplateResponse(
                    request, "delivery/admin/district_reschedule.html", context, status=400
                )
            if "confirm" not in request.POST:
                context["plan"] = plan
                return TemplateResponse(request, "delivery/admin/district_reschedule.html", context)
            return self._reschedule_confirmed(request, district, weekday, capacity, plan)
        return TemplateResponse(request, "delivery/admin/district_reschedule.html", context)

    def _reschedule_confirmed(self, request, district, weekday, capacity, plan) -> HttpResponse:
        if not plan.moves:
            try:
                district_reschedule(district_id=district.pk, weekday=weekday, capacity=capacity)
            except RescheduleImpossibleError as exc:  # bookings came in since the preview
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(request.path)
            self.message_user(request, gettext("Saved. No booking had to move."), messages.SUCCESS)
        else:
            transaction.on_commit(
                partial(
                    district_reschedule_task.delay,
                    district_id=district.pk,
                    weekday=weekday,
                    capacity=capacity,
                )
            )
            self.message_user(
                request,
                ngettext(
                    "Change queued: %(count)d order is being moved and its shopper emailed.",
                    "Change queued: %(count)d orders are being moved and their shoppers emailed.",
                    len(plan.moves),
                )
                % {"count": len(plan.moves)},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:delivery_district_change", args=[district.pk]))

    def chart_view(self, request: HttpRequest, district_id: int) -> HttpResponse:
        district = get_object_or_404(District, pk=district_id)
        if not self.has_view_permission(request, district):
            raise PermissionDenied
        return _chart_response(
            request, self, district=district, bars=delivery_chart(district_id=district.pk)
        )


def _chart_response(request, model_admin, *, district, bars) -> TemplateResponse:
    title = (
        gettext("Booked vs capacity: %(district)s") % {"district": district.short_name}
        if district
        else gettext("Booked vs capacity, all open districts")
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "district": district,
        "bars": bars,
    }
    return TemplateResponse(request, "delivery/admin/delivery_chart.html", context)


@admin.register(DeliveryDate)
class DeliveryDateAdmin(admin.ModelAdmin):
    list_display = ["district", "date", "booked", "capacity", "remaining", "fill"]
    list_filter = ["district__department", "district__is_active"]
    search_fields = ["district__name", "district__insee_code"]
    date_hierarchy = "date"
    list_select_related = ["district"]
    readonly_fields = ["district", "date", "booked"]
    fields = ["district", "date", "capacity", "booked"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            if "date__gte" not in request.GET and "date__year" not in request.GET:
                # Upcoming dates by default: the past is one click away (date hierarchy).
                queryset = queryset.filter(date__gte=local_today())
        return queryset

    def has_add_permission(self, request):
        return False  # created by the first booking, with the district's capacity

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("remaining"))
    def remaining(self, obj: DeliveryDate) -> int:
        return obj.remaining

    @admin.display(description=_("filled"))
    def fill(self, obj: DeliveryDate) -> str:
        return _fill_bar(obj.booked, obj.capacity)

    def get_urls(self):
        return [
            path(
                "chart/",
                self.admin_site.admin_view(self.chart_view),
                name="delivery_deliverydate_chart",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "chart_url": reverse("admin:delivery_deliverydate_chart"),
        }
        return super().changelist_view(request, extra_context)

    change_list_template = "delivery/admin/deliverydate_change_list.html"

    def chart_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return _chart_response(request, self, district=None, bars=delivery_chart())


@admin.register(ClosedDate)
class ClosedDateAdmin(admin.ModelAdmin):
    list_display = ["date", "district", "reason"]
    list_filter = [("district", admin.EmptyFieldListFilter)]
    date_hierarchy = "date"
    autocomplete_fields = ["district"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        hit = OrderDelivery.objects.booked().filter(delivery_date=obj.date)
        if obj.district_id:
            hit = hit.filter(district_id=obj.district_id)
        district_ids = sorted(set(hit.values_list("district_id", flat=True)))
        count = hit.count()
        for district_id in district_ids:
            # Re-plans the district with this date closed: its bookings move to the next date
            # with room and each shopper is emailed.
            transaction.on_commit(partial(district_reschedule_task.delay, district_id=district_id))
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d order was booked on that date: it is being moved to the next "
                    "delivery date and its shopper emailed.",
                    "%(count)d orders were booked on that date: they are being moved to the next "
                    "delivery date and their shoppers emailed.",
                    count,
                )
                % {"count": count},
                messages.WARNING,
            )


@admin.register(OrderDelivery)
class OrderDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "order_number",
        "district",
        "delivery_date",
        "requested_date",
        "baskets",
        "status",
    ]
    list_filter = ["status", "district__department"]
    search_fields = ["order__number", "district__name", "order__guest_email"]
    date_hierarchy = "delivery_date"
    list_select_related = ["order", "district"]
    readonly_fields = [
        "order",
        "district",
        "delivery_date",
        "requested_date",
        "baskets",
        "status",
        "created_at",
        "updated_at",
    ]
    actions = ["release"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("order"), ordering="order__number")
    def order_number(self, obj: OrderDelivery) -> str:
        return obj.order.number

    @admin.action(
        description=_("Release the places of the selected orders"), permissions=["change"]
    )
    def release(self, request, queryset):
        released = sum(
            order_delivery_release(order_delivery_id=pk)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext("%d booking released.", "%d bookings released.", released) % released,
        )


@admin.register(DeliveryMove)
class DeliveryMoveAdmin(admin.ModelAdmin):
    list_display = ["order_delivery", "from_date", "to_date", "reason", "notified_at", "created_at"]
    list_filter = ["reason", ("notified_at", admin.EmptyFieldListFilter)]
    list_select_related = ["order_delivery__order", "order_delivery__district"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["email", "postcode", "district", "consented_at", "language"]
    list_filter = ["district__department", ("district", admin.EmptyFieldListFilter)]
    search_fields = ["email", "postcode", "district__name"]
    readonly_fields = ["consent_text", "consented_at", "created_at"]
    list_select_related = ["district"]
    change_list_template = "delivery/admin/waitlist_change_list.html"

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [
            path(
                "per-postcode/",
                self.admin_site.admin_view(self.per_postcode_view),
                name="delivery_waitlistentry_per_postcode",
            ),
            *super().get_urls(),
        ]

    def per_postcode_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Waitlist per postcode"),
            "rows": waitlist_by_postcode(),
            "generated_at": timezone.now(),
        }
        return TemplateResponse(request, "delivery/admin/waitlist_per_postcode.html", context)


# Routes: the fleet, plans and the ops screens (registered on import).
from delivery.routing import admin as routing_admin  # noqa: E402, F401
