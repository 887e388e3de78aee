"""The staff groups, defined once in essentiels/roles.py: exactly their permissions, rebuilt by
migrate and by ``manage.py roles_sync``, whatever was added or removed by hand."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from essentiels.roles import (
    BACK_OFFICE_GROUP,
    CUSTOMER_CARE_GROUP,
    OPS_GROUP,
    ROLES,
    RoleGrantError,
    roles_sync,
)

pytestmark = pytest.mark.django_db


def held(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def crud(app_model: str, *actions: str) -> set[str]:
    app, model = app_model.split(".")
    return {f"{app}.{action}_{model}" for action in actions}


def installed_only(perms: set[str]) -> set[str]:
    # roles_sync skips grants on an app that is not installed
    from django.apps import apps

    return {
        perm for perm in perms if perm.split(".")[0] in {a.label for a in apps.get_app_configs()}
    }


# Written out on purpose: a permission granted or withdrawn in essentiels/roles.py must show here.
EXPECTED = {
    BACK_OFFICE_GROUP: (
        crud("baskets.baskettheme", "add", "change", "delete", "view")
        | crud("baskets.themedbasket", "add", "change", "delete", "view")
        | crud("baskets.basketvariant", "add", "change", "delete", "view")
        | crud("baskets.basketcomponent", "add", "change", "delete", "view")
        | crud("baskets.grocerydiets", "add", "change", "delete", "view")
        | crud("baskets.groceryproduct", "add", "change", "view")
        | crud("catalogue.product", "add", "change", "view")
        | crud("catalogue.category", "view")
        | crud("partner.stockrecord", "add", "change", "view")
        | crud("partner.partner", "view")
        | crud("supply.supplycommitment", "add", "change", "delete", "view")
        | crud("supply.variantsupplycap", "add", "change", "view")
        | crud("supply.componentsubstitution", "add", "change", "delete", "view")
        | crud("supply.supplywaitlistentry", "view")
    ),
    OPS_GROUP: (
        crud("delivery.district", "view", "change")
        | crud("delivery.postcode", "view", "add", "change", "delete")
        | crud("delivery.closeddate", "view", "add", "change", "delete")
        | crud("delivery.deliverydate", "view", "change")
        | crud("delivery.orderdelivery", "view")
        | crud("delivery.deliverymove", "view")
        | crud("delivery.waitlistentry", "view", "delete")
        | crud("delivery.depot", "view", "add", "change", "delete")
        | crud("delivery.bus", "view", "add", "change", "delete")
        | crud("delivery.addresslocation", "view")
        | crud("delivery.planrun", "view")
        | crud("delivery.routeplan", "view", "change", "export_manifest")
        | crud("delivery.route", "view", "change")
        | crud("delivery.routestop", "view")
        | crud("delivery.plannedorder", "view")
        | crud("delivery.routestopmove", "view")
        | crud("delivery.manifestexport", "view")
        | crud("waitingroom.waitingroomsettings", "view", "change")
        | crud("waitingroom.waitingroomsettingschange", "view")
    ),
    CUSTOMER_CARE_GROUP: (
        crud("auth.user", "view")
        | crud("order.order", "view", "change")
        | crud("baskets.basketsubscription", "view", "change")
        | crud("baskets.subscriptionrenewal", "view")
        | crud("baskets.subscriptionskip", "view")
        | crud("baskets.subscriptionmessage", "view")
        | crud("payments.stripeoperation", "view")
        | crud("waitingroom.priorityshopper", "add", "change", "delete", "view")
        | crud("waitingroom.prioritycode", "add", "change", "view")
        | crud("waitingroom.prioritycoderedemption", "view")
        | installed_only(crud("axes.accessattempt", "view", "delete"))
        | installed_only(crud("privacy.consent", "view"))
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_group_holds_exactly_its_permissions_after_migrate(name):
    # given the test database, migrated (post_migrate ran roles_sync)
    # then each group has exactly the permissions written above
    assert held(name) == EXPECTED[name]


def test_no_other_group_is_defined():
    # Oscar's migration made "All Oscar Dashboard Permissions" (users and orders included):
    # roles_sync deletes it
    assert set(ROLES) == set(EXPECTED) == set(Group.objects.values_list("name", flat=True))


def test_roles_sync_resets_hand_made_changes_and_is_idempotent():
    # given a permission added by hand to Ops and one removed from Back-office
    ops = Group.objects.get(name=OPS_GROUP)
    ops.permissions.add(Permission.objects.get(codename="change_product"))
    Group.objects.get(name=BACK_OFFICE_GROUP).permissions.remove(
        Permission.objects.get(codename="view_baskettheme")
    )
    # when the command runs, twice
    out = StringIO()
    call_command("roles_sync", stdout=out)
    call_command("roles_sync", stdout=out)
    # then both groups are back to exactly their permissions, and no group was duplicated
    assert held(OPS_GROUP) == EXPECTED[OPS_GROUP]
    assert held(BACK_OFFICE_GROUP) == EXPECTED[BACK_OFFICE_GROUP]
    assert Group.objects.filter(name=OPS_GROUP).count() == 1
    assert f"{OPS_GROUP}: {len(EXPECTED[OPS_GROUP])} permissions" in out.getvalue()


def test_a_grant_naming_no_real_permission_is_refused(monkeypatch):
    # given a typo in a grant
    monkeypatch.setitem(ROLES, OPS_GROUP, [("delivery", "districtt", ("view",))])
    # then roles_sync says so instead of silently granting less
    with pytest.raises(RoleGrantError, match="view_districtt"):
        roles_sync()
    assert held(OPS_GROUP) == EXPECTED[OPS_GROUP]
