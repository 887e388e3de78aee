"""Staff roles: groups with exactly the permissions their work needs, reset on every migrate.

Members also need ``is_staff`` to reach the admin. The delivery app keeps its own "Ops" group
(``delivery.services.districts.ops_group_ensure``).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

BACK_OFFICE_GROUP = "Back-office"
CUSTOMER_CARE_GROUP = "Service client"

Grants = list[tuple[str, str, tuple[str, ...]]]

# (app label, model, actions). Back-office staff compose baskets, set cost prices and diets,
# and manage products and stock records; they do not touch orders, users or delivery.
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
    # [Supply] buyers enter committed supply, cap baskets, declare substitutions.
    ("supply", "supplycommitment", ("add", "change", "delete", "view")),
    ("supply", "variantsupplycap", ("add", "change", "view")),
    ("supply", "componentsubstitution", ("add", "change", "delete", "view")),
    ("supply", "supplywaitlistentry", ("view",)),
]

# Customer care reads a shopper's subscriptions, their renewals, skipped weeks, emails, orders
# and payments, and pauses, resumes or cancels on the shopper's behalf ("change" on the
# subscription: the admin has no editable field, only those actions, each through the
# services). They change no order, price, basket or payment record.
CUSTOMER_CARE_PERMISSIONS: Grants = [
    ("baskets", "basketsubscription", ("change", "view")),
    ("baskets", "subscriptionrenewal", ("view",)),
    ("baskets", "subscriptionskip", ("view",)),
    ("baskets", "subscriptionmessage", ("view",)),
    ("order", "order", ("view",)),
    ("payments", "stripeoperation", ("view",)),
    # The waiting room's priority lane: customers flagged by customer care, and the codes
    # handed to social services (created here, shown once, revoked here).
    ("waitingroom", "priorityshopper", ("add", "change", "delete", "view")),
    ("waitingroom", "prioritycode", ("add", "change", "view")),
    ("waitingroom", "prioritycoderedemption", ("view",)),
]

ROLES: dict[str, Grants] = {
    BACK_OFFICE_GROUP: BACK_OFFICE_PERMISSIONS,
    CUSTOMER_CARE_GROUP: CUSTOMER_CARE_PERMISSIONS,
}


def _permissions(grants: Grants):
    query = Q(pk__in=[])
    for app_label, model, actions in grants:
        query |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    return Permission.objects.filter(query)


def roles_sync() -> dict[str, Group]:
    """Create or reset each group of ROLES to exactly its permissions. Idempotent."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # Run after the baskets app's migrate: apps listed after it (payments) may not have their
    # permissions yet on a fresh database.
    for app_label in sorted({grant[0] for grants in ROLES.values() for grant in grants}):
        create_permissions(apps.get_app_config(app_label), verbosity=0)
    groups = {}
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(grants))
        groups[name] = group
    return groups
