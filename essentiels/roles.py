"""Staff roles: every group and exactly its permissions, in one place.

``roles_sync()`` creates each group of ``ROLES`` or resets it to exactly these permissions
(nothing more: a permission added by hand in the admin is removed again). It runs after every
``migrate`` (and after a test database flush, which emits ``post_migrate`` too) and on demand
with ``manage.py roles_sync``. Members also need ``is_staff`` to reach the admin and Oscar's
dashboard. Shoppers belong to no group; superusers need none.

What each role may open is pinned by ``tests/security/test_permission_matrix.py``: a change
here must change that table too.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

BACK_OFFICE_GROUP = "Back-office"
OPS_GROUP = "Ops"
CUSTOMER_CARE_GROUP = "Service client"

# (app label, model, actions). An action is a permission codename's prefix: "view", "add",
# "change", "delete", or a model's own permission ("export_manifest" on routeplan).
Grants = list[tuple[str, str, tuple[str, ...]]]

# Back-office staff compose baskets, set cost prices and diets, manage products and stock
# records, and enter supply; they do not touch orders, customers, delivery or payments.
BACK_OFFICE_PERMISSIONS: Grants = [
    ("baskets", "baskettheme", ("add", "change", "delete", "view")),
    ("baskets", "themedbasket", ("add", "change", "delete", "view")),
    ("baskets", "basketvariant", ("add", "change", "delete", "view")),
    ("baskets", "basketcomponent", ("add", "change", "delete", "view")),
    ("baskets", "grocerydiets", ("add", "change", "delete", "view")),
    ("baskets", "groceryproduct", ("add", "change", "view")),
    ("catalogue", "product", ("add", "change", "view")),
    ("catalogue", "category", ("view",)),
    ("partner", "stockrecord", ("add", "change", "view")),
    ("partner", "partner", ("view",)),
    # [Supply] buyers enter committed supply, cap baskets, declare substitutions; the supply
    # page and its export, and the warehouse picking totals, open with view_supplycommitment.
    ("supply", "supplycommitment", ("add", "change", "delete", "view")),
    ("supply", "variantsupplycap", ("add", "change", "view")),
    ("supply", "componentsubstitution", ("add", "change", "delete", "view")),
    ("supply", "supplywaitlistentry", ("view",)),
]

# Ops open districts and set their days and capacities, watch bookings, read the waiting list,
# run route planning and export manifests, and steer the waiting room. Nothing about products,
# prices, baskets, payments or customers' accounts.
OPS_PERMISSIONS: Grants = [
    ("delivery", "district", ("view", "change")),
    ("delivery", "postcode", ("view", "add", "change", "delete")),
    ("delivery", "closeddate", ("view", "add", "change", "delete")),
    ("delivery", "deliverydate", ("view", "change")),
    ("delivery", "orderdelivery", ("view",)),
    ("delivery", "deliverymove", ("view",)),
    ("delivery", "waitlistentry", ("view", "delete")),
    # Routes: "change" on a plan lets ops re-plan, move a stop and lock a route;
    # "export_manifest" lets them download manifests (and the warehouse picking totals).
    ("delivery", "depot", ("view", "add", "change", "delete")),
    ("delivery", "bus", ("view", "add", "change", "delete")),
    ("delivery", "addresslocation", ("view",)),
    ("delivery", "planrun", ("view",)),
    ("delivery", "routeplan", ("view", "change", "export_manifest")),
    ("delivery", "route", ("view", "change")),
    ("delivery", "routestop", ("view",)),
    ("delivery", "plannedorder", ("view",)),
    ("delivery", "routestopmove", ("view",)),
    ("delivery", "manifestexport", ("view",)),
    # The waiting room, live: admissions per minute, active shoppers, on/off; its history.
    ("waitingroom", "waitingroomsettings", ("view", "change")),
    ("waitingroom", "waitingroomsettingschange", ("view",)),
]

# Customer care finds a shopper (their account, orders, subscriptions, payments), changes an
# order's status or notes and refunds it (the Stripe refund form needs change_order), pauses,
# resumes or cancels a subscription on the shopper's behalf ("change" on the subscription: its
# admin has no editable field, only those actions, each through the services), runs the waiting
# room's priority lane and unlocks a shopper locked out by failed logins. They change no price,
# basket, delivery setting or payment record, and no user account.
CUSTOMER_CARE_PERMISSIONS: Grants = [
    ("auth", "user", ("view",)),
    ("order", "order", ("view", "change")),
    ("baskets", "basketsubscription", ("change", "view")),
    ("baskets", "subscriptionrenewal", ("view",)),
    ("baskets", "subscriptionskip", ("view",)),
    ("baskets", "subscriptionmessage", ("view",)),
    ("payments", "stripeoperation", ("view",)),
    # The priority lane: customers flagged by customer care, and the codes handed to social
    # services (created here, shown once, revoked here).
    ("waitingroom", "priorityshopper", ("add", "change", "delete", "view")),
    ("waitingroom", "prioritycode", ("add", "change", "view")),
    ("waitingroom", "prioritycoderedemption", ("view",)),
    # Failed logins (django-axes): deleting a shopper's rows lifts their lock.
    ("axes", "accessattempt", ("view", "delete")),
    # What a shopper agreed to, and when (read only: shoppers change it on their account).
    ("privacy", "consent", ("view",)),
]

ROLES: dict[str, Grants] = {
    BACK_OFFICE_GROUP: BACK_OFFICE_PERMISSIONS,
    OPS_GROUP: OPS_PERMISSIONS,
    CUSTOMER_CARE_GROUP: CUSTOMER_CARE_PERMISSIONS,
}

# Oscar 4.2's migration customer.0008 creates this group with every dashboard permission
# (adding, changing and deleting users and orders included: a member could make themselves
# superuser) and puts every staff member of the day in it. Staff get a role above instead.
RETIRED_GROUPS = ("All Oscar Dashboard Permissions",)


class RoleGrantError(LookupError):
    """A grant names a permission that does not exist (a typo, or a model renamed)."""


def _codenames(grants: Grants) -> set[tuple[str, str]]:
    return {
        (app_label, f"{action}_{model}")
        for app_label, model, actions in grants
        for action in actions
    }


def role_permissions(*, name: str) -> set[tuple[str, str]]:
    """The (app label, codename) pairs the group ``name`` holds, for installed apps."""
    return {
        (app_label, codename)
        for app_label, codename in _codenames(ROLES[name])
        if _app_label_installed(app_label)
    }


def _app_label_installed(app_label: str) -> bool:
    from django.apps import apps

    try:
        apps.get_app_config(app_label)
    except LookupError:
        return False
    return True


@transaction.atomic
def roles_sync() -> dict[str, Group]:
    """Create or reset each group of ROLES to exactly its permissions. Idempotent.

    Grants on an app that is not installed are skipped; a grant naming a permission that does
    not exist raises RoleGrantError. The groups of RETIRED_GROUPS are deleted.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    labels = {grant[0] for grants in ROLES.values() for grant in grants}
    # Apps migrated after the one whose post_migrate runs this may not have their content
    # types and permissions yet on a fresh database.
    for app_label in sorted(labels):
        if _app_label_installed(app_label):
            create_permissions(apps.get_app_config(app_label), verbosity=0)
    groups = {}
    for name in ROLES:
        wanted = role_permissions(name=name)
        query = Q(pk__in=[])
        for app_label, codename in wanted:
            query |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(query).select_related("content_type"))
        found = {(p.content_type.app_label, p.codename) for p in permissions}
        if missing := wanted - found:
            raise RoleGrantError(f"{name}: no such permission {sorted(missing)}")
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
        groups[name] = group
    Group.objects.filter(name__in=RETIRED_GROUPS).delete()
    return groups
