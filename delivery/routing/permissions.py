"""What the Ops group may do with routes (merged into ``OPS_PERMISSIONS`` of the districts
service, which (re)builds the group after every migrate)."""

from __future__ import annotations

ROUTING_OPS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "depot": ("view", "add", "change", "delete"),
    "bus": ("view", "add", "change", "delete"),
    "addresslocation": ("view",),
    "planrun": ("view",),
    # "change" on a plan lets ops re-plan, move a stop and lock a route; "export_manifest" (the
    # custom permission export_manifest_routeplan) lets them download manifests. Back-office
    # staff outside the group get neither.
    "routeplan": ("view", "change", "export_manifest"),
    "route": ("view", "change"),
    "routestop": ("view",),
    "plannedorder": ("view",),
    "routestopmove": ("view",),
    "manifestexport": ("view",),
}
