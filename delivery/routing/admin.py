"""Ops' back-office for routes: depots and buses (the fleet), and the page of a delivery date's
plan (routes, map, stops not placed, what moved; re-plan, move a stop, lock a route; manifests).
Thin: every change goes through delivery.routing.services. Imported by delivery.admin."""

from __future__ import annotations

from datetime import date
from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from delivery.calendar import local_today
from delivery.models import Weekday
from delivery.routing.forms import BusForm, StopMoveForm
from delivery.routing.manifests import FORMATS, KINDS, manifest_build, manifest_response
from delivery.routing.models import (
    Bus,
    Depot,
    ManifestExport,
    PlanRun,
    PlanTrigger,
    Route,
    RoutePlan,
    RouteStop,
)
from delivery.routing.selectors import (
    plan_map,
    plan_routes,
    plan_run_latest,
    plan_unplaced,
    route_plan_diff,
)
from delivery.routing.services.adjust import RouteChangeError, route_lock, route_stop_move
from delivery.tasks import route_plan_task
from essentiels.admin import ReadOnlyAdmin


class BusInline(admin.TabularInline):
    model = Bus
    form = BusForm
    extra = 0
    fields = ["name", "plate", "capacity", "shift_start", "shift_end", "is_active"]
    show_change_link = True


@admin.register(Depot)
class DepotAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "latitude", "longitude", "loading_minutes"]
    search_fields = ["name", "address"]
    inlines = [BusInline]


@admin.register(Bus)
class BusAdmin(admin.ModelAdmin):
    form = BusForm
    list_display = [
        "name",
        "plate",
        "depot",
        "capacity",
        "working_days",
        "shift_start",
        "shift_end",
        "is_active",
    ]
    list_filter = ["is_active", "depot"]
    search_fields = ["name", "plate"]
    list_select_related = ["depot"]

    @admin.display(description=_("working weekdays"))
    def working_days(self, obj: Bus) -> str:
        labels = dict(Weekday.choices)
        return ", ".join(str(labels[day]) for day in sorted(obj.weekdays or []) if day in labels)


# --- Plans: the ops screen of a delivery date ---------------------------------------------------
class RoutePlanAdmin(admin.ModelAdmin):
    list_display = [
        "delivery_date",
        "version",
        "trigger",
        "routes_count",
        "distance_km",
        "unplaced_count",
        "created_at",
        "open_link",
    ]
    date_hierarchy = "delivery_date"
    list_filter = ["trigger"]
    change_list_template = "delivery/routing/admin/routeplan_change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_routes=Count("routes", distinct=True),
                n_unplaced=Count("orders", filter=Q(orders__stop__isnull=True), distinct=True),
            )
        )

    def has_add_permission(self, request):
        return False  # plans are written by planning runs

    def has_delete_permission(self, request, obj=None):
        return False  # history: the diff of the next version refers to it

    def has_change_permission(self, request, obj=None):
        # The model form would edit a plan's bookkeeping: plans change through the date page.
        return False

    def has_plan_change_permission(self, request) -> bool:
        return request.user.has_perm("delivery.change_routeplan")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("delivery.export_manifest_routeplan")

    @admin.display(description=_("routes"), ordering="n_routes")
    def routes_count(self, obj):
        return obj.n_routes

    @admin.display(description=_("not placed"), ordering="n_unplaced")
    def unplaced_count(self, obj):
        return obj.n_unplaced

    @admin.display(description=_("distance (km)"), ordering="total_distance_m")
    def distance_km(self, obj):
        return f"{obj.total_distance_m / 1000:.1f}"

    @admin.display(description="")
    def open_link(self, obj):
        url = reverse("admin:delivery_routeplan_date", args=[obj.delivery_date.isoformat()])
        return format_html('<a href="{}?version={}">{}</a>', url, obj.version, _("open"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("date/", wrap(self.date_pick_view), name="delivery_routeplan_date_pick"),
            path("date/<str:day>/", wrap(self.date_view), name="delivery_routeplan_date"),
            path("date/<str:day>/plan/", wrap(self.replan_view), name="delivery_routeplan_replan"),
            path(
                "date/<str:day>/manifest/<str:kind>.<str:fmt>",
                wrap(self.manifest_view),
                name="delivery_routeplan_manifest",
            ),
            path(
                "route/<int:route_id>/lock/", wrap(self.lock_view), name="delivery_routeplan_lock"
            ),
            path("stop/<int:stop_id>/move/", wrap(self.move_view), name="delivery_routeplan_move"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        plan = get_object_or_404(RoutePlan, pk=object_id)
        url = reverse("admin:delivery_routeplan_date", args=[plan.delivery_date.isoformat()])
        return HttpResponseRedirect(f"{url}?version={plan.version}")

    # --- pages ---------------------------------------------------------------------------
    def _day(self, day: str) -> date:
        try:
            return date.fromisoformat(day)
        except ValueError:
            raise Http404(gettext("Not a date.")) from None

    def date_pick_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        day = request.GET.get("day", "")
        try:
            date.fromisoformat(day)
        except ValueError:
            day = local_today().isoformat()
        return HttpResponseRedirect(reverse("admin:delivery_routeplan_date", args=[day]))

    def date_view(self, request: HttpRequest, day: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        delivery_date = self._day(day)
        plans = RoutePlan.objects.filter(delivery_date=delivery_date).order_by("-version")
        plan = plans.first()
        version = request.GET.get("version", "")
        if version.isdigit():
            plan = plans.filter(version=int(version)).first() or plan
        run = plan_run_latest(delivery_date=delivery_date)
        routes = plan_routes(plan_id=plan.pk) if plan else []
        is_current = plan is not None and plan.pk == plans.first().pk
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Routes of %(day)s") % {"day": date_format(delivery_date, "l j F Y")},
            "day": delivery_date,
            "plan": plan,
            "versions": list(plans.values_list("version", flat=True)),
            "is_current": is_current,
            "routes": routes,
            "unplaced": plan_unplaced(plan_id=plan.pk) if plan else [],
            "diff": route_plan_diff(plan_id=plan.pk) if plan else None,
            "moves": plan.moves.select_related("from_bus", "to_bus", "moved_by")[:50]
            if plan
            else [],
            "map": plan_map(routes=routes),
            "run": run,
            "running": run is not None
            and run.status in (PlanRun.Status.QUEUED, PlanRun.Status.RUNNING),
            "can_change": self.has_plan_change_permission(request) and is_current,
            "can_plan": self.has_plan_change_permission(request),
            "can_export": self.has_export_permission(request) and plan is not None,
            "manifest_kinds": [
                ("route_sheet", gettext("Route sheet")),
                ("loading_list", gettext("Loading list")),
                ("picking_list", gettext("Picking list")),
            ],
            "formats": FORMATS,
        }
        return TemplateResponse(request, "delivery/routing/admin/date.html", context)

    def replan_view(self, request: HttpRequest, day: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_plan_change_permission(request):
            raise PermissionDenied
        delivery_date = self._day(day)
        run = PlanRun.objects.create(
            delivery_date=delivery_date, trigger=PlanTrigger.OPS, requested_by=request.user
        )
        transaction.on_commit(
            partial(
                route_plan_task.delay,
                delivery_date=delivery_date.isoformat(),
                trigger=PlanTrigger.OPS,
                run_id=run.pk,
                requested_by_id=request.user.pk,
            )
        )
        self.message_user(request, gettext("Planning queued: progress shows below."))
        return HttpResponseRedirect(reverse("admin:delivery_routeplan_date", args=[day]))

    def lock_view(self, request: HttpRequest, route_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_plan_change_permission(request):
            raise PermissionDenied
        route = get_object_or_404(Route.objects.select_related("plan"), pk=route_id)
        route_lock(route_id=route.pk, locked=request.POST.get("locked") == "1")
        url = reverse("admin:delivery_routeplan_date", args=[route.plan.delivery_date.isoformat()])
        return HttpResponseRedirect(f"{url}?version={route.plan.version}")

    def move_view(self, request: HttpRequest, stop_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_plan_change_permission(request):
            raise PermissionDenied
        stop = get_object_or_404(RouteStop.objects.select_related("route__plan"), pk=stop_id)
        plan = stop.route.plan
        form = StopMoveForm(request.POST, routes=plan.routes.select_related("bus"))
        if not form.is_valid():
            self.message_user(request, gettext("Choose a bus."), messages.ERROR)
        else:
            try:
                route = route_stop_move(
                    stop_id=stop.pk,
                    to_route_id=form.cleaned_data["to_route"],
                    by_user_id=request.user.pk,
                )
            except RouteChangeError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("Stop moved to %(bus)s (%(load)s/%(capacity)s baskets).")
                    % {"bus": route.bus, "load": route.load, "capacity": route.capacity},
                    messages.SUCCESS,
                )
                if route.returns_at and route.returns_at > route.shift_end_at:
                    self.message_user(
                        request,
                        gettext("%(bus)s now comes back after the end of its shift.")
                        % {"bus": route.bus},
                        messages.WARNING,
                    )
        url = reverse("admin:delivery_routeplan_date", args=[plan.delivery_date.isoformat()])
        return HttpResponseRedirect(f"{url}?version={plan.version}")

    def manifest_view(self, request: HttpRequest, day: str, kind: str, fmt: str) -> HttpResponse:
        if not (self.has_view_permission(request) and self.has_export_permission(request)):
            raise PermissionDenied
        if kind not in KINDS or fmt not in FORMATS:
            raise Http404(gettext("Unknown manifest."))
        delivery_date = self._day(day)
        plans = RoutePlan.objects.filter(delivery_date=delivery_date).order_by("-version")
        version = request.GET.get("version", "")
        plan = plans.filter(version=int(version)).first() if version.isdigit() else plans.first()
        if plan is None:
            raise Http404(gettext("No plan for this date."))
        bus_id = request.GET.get("bus", "")
        bus_id = int(bus_id) if bus_id.isdigit() else None
        if bus_id is not None and not plan.routes.filter(bus_id=bus_id).exists():
            raise Http404(gettext("No route of this bus in the plan."))
        ManifestExport.objects.create(
            user=request.user,
            delivery_date=delivery_date,
            plan=plan,
            bus_id=bus_id,
            kind=kind,
            file_format=fmt,
        )
        manifest = manifest_build(plan=plan, kind=kind, bus_id=bus_id)
        name = f"{kind}-{delivery_date.isoformat()}-v{plan.version}"
        if bus_id is not None:
            name += f"-bus{bus_id}"
        return manifest_response(manifest, name=name, fmt=fmt)


admin.site.register(RoutePlan, RoutePlanAdmin)


@admin.register(PlanRun)
class PlanRunAdmin(admin.ModelAdmin):
    list_display = [
        "delivery_date",
        "status",
        "stage",
        "percent",
        "trigger",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "delivery_date"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ManifestExport)
class ManifestExportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "delivery_date", "kind", "file_format", "bus", "plan"]
    list_filter = ["kind", "file_format"]
    date_hierarchy = "created_at"
