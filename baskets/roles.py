"""The back-office role: a group with exactly the permissions to run the assortment."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

BACK_OFFICE_GROUP = "Back-office"

# (app label, model, actions). Back-office staff compose baskets, set cost prices and diets,
# and manage products and stock records; they do not touch orders, users or delivery.
BACK_OFFICE_PERMISSIONS = [
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
]


def roles_sync() -> Group:
    """Create or reset the Back-office group to exactly BACK_OFFICE_PERMISSIONS. Idempotent."""
    query = Q(pk__in=[])
    for app_label, model, actions in BACK_OFFICE_PERMISSIONS:
        query |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    group, _ = Group.objects.get_or_create(name=BACK_OFFICE_GROUP)
    group.permissions.set(Permission.objects.filter(query))
    return group
