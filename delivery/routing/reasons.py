"""Why an order was not placed, and the plan's notes: stored as codes with parameters, worded
at display time in the reader's language.

A plan is written by a worker whose active language says nothing about who reads it later (an
Italian-speaking ops team, the English admin): so the database keeps ``PlannedOrder.reason``
(a code) with ``PlannedOrder.params`` (numbers, a weekday, a bus name), and ``RoutePlan.notes``
as ``{"code": …, "params": {…}}`` items. The sentences below are translated when shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext


def _weekday(params: Mapping[str, Any]) -> str:
    from delivery.models import Weekday

    value = params.get("weekday")
    return str(Weekday(value).label) if value in Weekday.values else "?"


def reason_detail(*, reason: str, params: Mapping[str, Any] | None) -> str:
    """The sentence explaining ``reason`` (a ``PlannedOrder.Reason`` value), in the active
    language. Unknown codes or missing parameters give a plain sentence, never an error."""
    params = params or {}
    try:
        if reason == "no_coordinates":
            if params.get("cause") == "no_address":
                return gettext("No delivery address on the order.")
            return gettext("The address could not be placed on the map.")
        if reason == "no_bus":
            return gettext("No bus in service works on %(weekday)s.") % {
                "weekday": _weekday(params)
            }
        if reason == "too_large":
            return gettext(
                "%(baskets)s baskets at this address; the largest bus carries %(max)s."
            ) % {"baskets": params["baskets"], "max": params["max"]}
        if reason == "too_far":
            return gettext(
                "No bus can drive there, deliver and be back before the end of its shift."
            )
        if reason == "fleet_full":
            return gettext(
                "%(demand)s baskets to deliver, %(capacity)s places in the day's buses."
            ) % {
                "demand": params["demand"],
                "capacity": params["capacity"],
            }
        if reason == "no_time_left":
            if params.get("cause") == "solver":
                return gettext("Not placed by the solver.")
            return gettext("The day's buses have no time left in their shifts for this stop.")
    except KeyError:
        pass
    return ""


def note_text(note: str | Mapping[str, Any]) -> str:
    """A plan note in the active language (plans written before notes had codes kept text)."""
    if isinstance(note, str):
        return note
    code, params = note.get("code", ""), note.get("params") or {}
    bus = params.get("bus", "?")
    if code == "bus_zero_capacity":
        return gettext("%(bus)s skipped: its capacity is zero.") % {"bus": bus}
    if code == "bus_loading_whole_shift":
        return gettext("%(bus)s skipped: loading at the depot takes its whole shift.") % {
            "bus": bus
        }
    if code == "locked_route_dropped":
        return gettext(
            "Locked route of %(bus)s not kept: the bus does not work that day any more."
        ) % {"bus": bus}
    if code == "no_bus":
        return reason_detail(reason="no_bus", params=params)
    return code


def note(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "params": params}
