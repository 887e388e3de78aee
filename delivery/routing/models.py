"""Fleet (depots, buses), planning runs, and versioned route plans.

A *plan* is one version of a delivery date's routes. Versions are never edited by a planning
run: a run writes version n+1 in one transaction at its very end, so a worker killed mid-run
leaves version n as it was. Ops' manual moves edit the current version in place (under the
same per-date lock as runs) and are recorded in ``RouteStopMove``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from delivery.models import Weekday

__all__ = [
    "AddressLocation",
    "Bus",
    "Depot",
    "ManifestExport",
    "PlannedOrder",
    "PlanRun",
    "PlanTrigger",
    "Route",
    "RoutePlan",
    "RouteStop",
    "RouteStopMove",
]


class Depot(models.Model):
    """Where buses are loaded and leave from (and come back to)."""

    name = models.CharField(_("name"), max_length=128)
    address = models.CharField(_("address"), max_length=255)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    loading_minutes = models.PositiveSmallIntegerField(
        _("loading time (minutes)"),
        default=30,
        help_text=_("Time to load a bus before it leaves: its first stop is that much later."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("depot")
        verbose_name_plural = _("depots")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Bus(models.Model):
    name = models.CharField(_("name"), max_length=64)
    plate = models.CharField(_("licence plate"), max_length=16, blank=True)
    depot = models.ForeignKey(
        Depot, on_delete=models.PROTECT, related_name="buses", verbose_name=_("depot")
    )
    # Validated above zero in forms; the planner still skips a zero found in the database
    # (an import, a raw UPDATE) and says so, rather than crashing.
    capacity = models.PositiveIntegerField(
        _("capacity (baskets)"), validators=[MinValueValidator(1)]
    )
    volume_litres = models.PositiveIntegerField(_("volume (litres)"), null=True, blank=True)
    max_weight_kg = models.PositiveIntegerField(_("maximum load (kg)"), null=True, blank=True)
    # Weekday numbers (0 = Monday, like ``date.weekday()``). A JSON list rather than an array
    # column so the one-command SQLite demo works; fleets are small, filtered in Python.
    weekdays = models.JSONField(_("working weekdays"), default=list, blank=True)
    shift_start = models.TimeField(_("shift start"))
    shift_end = models.TimeField(_("shift end"))
    is_active = models.BooleanField(
        _("in service"), default=True, help_text=_("Buses out of service are never planned.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bus")
        verbose_name_plural = _("buses")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shift_end__gt=F("shift_start")),
                name="delivery_bus_shift_ends_after_start",
                violation_error_message=_("The shift must end after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.plate})" if self.plate else self.name

    def clean(self) -> None:
        errors = {}
        days = self.weekdays if isinstance(self.weekdays, list) else None
        if days is None or any(day not in Weekday.values for day in days):
            errors["weekdays"] = _("Choose weekdays among Monday to Sunday.")
        if self.shift_start and self.shift_end and self.shift_end <= self.shift_start:
            errors["shift_end"] = _("The shift must end after it starts.")
        if errors:
            raise ValidationError(errors)

    def works_on(self, weekday: int) -> bool:
        return weekday in (self.weekdays or [])


class AddressLocation(models.Model):
    """Coordinates found by a geocoder for one normalised address, kept so that re-planning a
    date does not ask a remote geocoder again. The offline geocoder is never cached (it is
    deterministic and free)."""

    key = models.CharField(_("address key"), max_length=64, unique=True)
    label = models.CharField(_("address"), max_length=255)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    source = models.CharField(_("source"), max_length=32)
    score = models.FloatField(_("score"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("address location")
        verbose_name_plural = _("address locations")

    def __str__(self) -> str:
        return self.label


class PlanTrigger(models.TextChoices):
    BEAT = "beat", _("After the cutoff (automatic)")
    OPS = "ops", _("Asked by ops")
    BENCH = "bench", _("Benchmark")


class PlanRun(models.Model):
    """One attempt at planning a delivery date: its progress while it runs, its outcome after.

    Only one run per date at a time: runs take a PostgreSQL advisory lock keyed by the date
    (``delivery.routing.locks``). A row left RUNNING by a killed worker is marked INTERRUPTED by
    the next run, which takes the lock and starts over.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        UNCHANGED = "unchanged", _("Nothing changed since the last plan")
        BUSY = "busy", _("Another run was in progress")
        FAILED = "failed", _("Failed")
        INTERRUPTED = "interrupted", _("Interrupted (worker stopped)")

    delivery_date = models.DateField(_("delivery date"), db_index=True)
    trigger = models.CharField(_("trigger"), max_length=16, choices=PlanTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="route_plan_runs",
        verbose_name=_("requested by"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=32, blank=True)
    percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.TextField(_("error"), blank=True)
    plan = models.ForeignKey(
        "RoutePlan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name=_("plan written"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("planning run")
        verbose_name_plural = _("planning runs")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.delivery_date:%Y-%m-%d} #{self.pk} ({self.status})"


class RoutePlan(models.Model):
    """One version of a delivery date's routes."""

    delivery_date = models.DateField(_("delivery date"))
    version = models.PositiveIntegerField(_("version"))
    trigger = models.CharField(_("trigger"), max_length=16, choices=PlanTrigger.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="route_plans",
        verbose_name=_("created by"),
    )
    # Hash of what the plan was made from (orders, baskets, addresses, fleet): the beat re-plans
    # a date only when it differs from the current version's.
    fingerprint = models.CharField(_("input fingerprint"), max_length=64)
    solver = models.CharField(_("solver"), max_length=32)
    solve_seconds = models.FloatField(_("solver time (s)"), default=0)
    total_distance_m = models.PositiveIntegerField(_("total distance (m)"), default=0)
    # Plan-level problems ops should read (a bus skipped for zero capacity, a locked route that
    # could not be kept): ``{"code": …, "params": {…}}`` items, worded when shown
    # (``delivery.routing.reasons``), so each reader gets their language.
    notes = models.JSONField(_("notes"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("route plan")
        verbose_name_plural = _("route plans")
        ordering = ["delivery_date", "-version"]
        permissions = [("export_manifest_routeplan", _("Can export route manifests"))]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery_date", "version"], name="delivery_routeplan_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delivery_date:%Y-%m-%d} v{self.version}"

    @property
    def notes_text(self) -> list[str]:
        from delivery.routing.reasons import note_text

        return [note_text(note) for note in self.notes or []]


class Route(models.Model):
    """One bus's tour on the plan's date. Capacity and shift are copied from the bus at planning
    time, so the plan still reads true after the bus is edited."""

    plan = models.ForeignKey(
        RoutePlan, on_delete=models.CASCADE, related_name="routes", verbose_name=_("plan")
    )
    bus = models.ForeignKey(
        Bus, on_delete=models.PROTECT, related_name="routes", verbose_name=_("bus")
    )
    capacity = models.PositiveIntegerField(_("capacity"))
    load = models.PositiveIntegerField(_("baskets"), default=0)
    distance_m = models.PositiveIntegerField(_("distance (m)"), default=0)
    departs_at = models.DateTimeField(_("leaves the depot at"), null=True, blank=True)
    returns_at = models.DateTimeField(_("back at the depot at"), null=True, blank=True)
    shift_end_at = models.DateTimeField(_("shift ends at"), null=True, blank=True)
    locked = models.BooleanField(
        _("locked"), default=False, help_text=_("Re-planning keeps a locked route as it is.")
    )

    class Meta:
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        ordering = ["plan", "bus__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "bus"], name="delivery_route_one_per_bus"),
            models.CheckConstraint(
                condition=Q(load__lte=F("capacity")), name="delivery_route_never_overloaded"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} — {self.bus}"


class RouteStop(models.Model):
    """One address on a route: every order to the same building (address line and postcode)."""

    route = models.ForeignKey(
        Route, on_delete=models.CASCADE, related_name="stops", verbose_name=_("route")
    )
    sequence = models.PositiveIntegerField(_("sequence"))
    address_key = models.CharField(_("address key"), max_length=64)
    address = models.CharField(_("address"), max_length=255)
    postcode = models.CharField(_("postcode"), max_length=16, blank=True)
    city = models.CharField(_("city"), max_length=128, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    location_source = models.CharField(_("location source"), max_length=32)
    baskets = models.PositiveIntegerField(_("baskets"))
    # Minutes at the door grow with the baskets carried up (ROUTING_SERVICE_MINUTES for the
    # first, ROUTING_SERVICE_EXTRA_BASKET_MINUTES for each other). Kept on the stop so the ETAs
    # recomputed after a move use the same figure as the solver did.
    service_seconds = models.PositiveIntegerField(_("time at the stop (s)"), default=180)
    eta = models.DateTimeField(_("estimated arrival"), null=True, blank=True)

    class Meta:
        verbose_name = _("stop")
        verbose_name_plural = _("stops")
        ordering = ["route", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["route", "sequence"], name="delivery_routestop_sequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.address}"


class PlannedOrder(models.Model):
    """Where an order is in a plan: on a stop, or not placed and why. One row per (plan, order):
    the database guarantees every order is exactly once in a plan."""

    class Reason(models.TextChoices):
        NO_COORDINATES = "no_coordinates", _("No coordinates for the address")
        NO_BUS = "no_bus", _("No bus works that day")
        TOO_LARGE = "too_large", _("More baskets than any bus carries")
        TOO_FAR = "too_far", _("Too far to reach and come back within any shift")
        FLEET_FULL = "fleet_full", _("The fleet is full (capacity)")
        NO_TIME_LEFT = "no_time_left", _("No bus had time left in its shift")

    plan = models.ForeignKey(
        RoutePlan, on_delete=models.CASCADE, related_name="orders", verbose_name=_("plan")
    )
    order_delivery = models.ForeignKey(
        "delivery.OrderDelivery",
        on_delete=models.CASCADE,
        related_name="planned",
        verbose_name=_("order delivery"),
    )
    stop = models.ForeignKey(
        RouteStop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("stop"),
    )
    baskets = models.PositiveIntegerField(_("baskets"))
    reason = models.CharField(_("not placed because"), max_length=16, choices=Reason.choices)
    # What the reason's sentence needs (baskets, capacity, weekday…): the sentence itself is
    # worded when shown, in the reader's language (``delivery.routing.reasons``).
    params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    # Text written by plans made before reasons had parameters; empty since.
    detail = models.CharField(_("detail"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("planned order")
        verbose_name_plural = _("planned orders")
        ordering = ["plan", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "order_delivery"], name="delivery_plannedorder_once_per_plan"
            ),
            # On a stop, or not placed with a reason: never both, never neither.
            models.CheckConstraint(
                condition=(Q(stop__isnull=False) & Q(reason=""))
                | (Q(stop__isnull=True) & ~Q(reason="")),
                name="delivery_plannedorder_placed_xor_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.order_delivery_id}"

    @property
    def detail_text(self) -> str:
        """Why the order is not placed, in the active language ("" when placed)."""
        if not self.reason:
            return ""
        if self.detail and not self.params:
            return self.detail
        from delivery.routing.reasons import reason_detail

        return reason_detail(reason=self.reason, params=self.params)


class RouteStopMove(models.Model):
    """A stop moved by ops from one bus to another in a plan (the audit trail)."""

    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="moves")
    address = models.CharField(_("address"), max_length=255)
    from_bus = models.ForeignKey(Bus, on_delete=models.PROTECT, related_name="+")
    to_bus = models.ForeignKey(Bus, on_delete=models.PROTECT, related_name="+")
    baskets = models.PositiveIntegerField(_("baskets"))
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("stop move")
        verbose_name_plural = _("stop moves")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.address}: {self.from_bus} → {self.to_bus}"


class ManifestExport(models.Model):
    """Who exported which manifest, when (every export is logged)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    delivery_date = models.DateField(_("delivery date"))
    plan = models.ForeignKey(RoutePlan, on_delete=models.SET_NULL, null=True, related_name="+")
    bus = models.ForeignKey(Bus, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(_("document"), max_length=16)
    file_format = models.CharField(_("format"), max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("manifest export")
        verbose_name_plural = _("manifest exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind}.{self.file_format} {self.delivery_date:%Y-%m-%d}"
