"""Ops' back-office for routes: depots and buses (the fleet). Imported by delivery.admin."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from delivery.models import Weekday
from delivery.routing.forms import BusForm
from delivery.routing.models import Bus, Depot


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
