"""Bus routes: the fleet (depots, buses), stop locations, planning each delivery date's routes
with a vehicle-routing solver, and what ops do with the plan (move a stop, lock a route, export
manifests). Models live in ``delivery.routing.models`` and are re-exported by
``delivery.models`` so they belong to the ``delivery`` app."""
