"""Who may open what: every admin page (each registered model's list, add, change and delete
pages, on a real row), every custom admin and ops view, every page of Oscar's dashboard, as each
role — anonymous, shopper, back-office, ops, customer care, superuser — against the table below.

The table is the specification: granting or withdrawing a permission (essentiels/roles.py), or
registering a new admin page, fails this test until the table says the same. "Allowed" is a 200
(or a redirect that is not to a login page, or for a form posted empty its answer below 500);
"refused" is a 403, or for anonymous visitors and shoppers (not staff) the login page.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import get_resolver, reverse

from tests.security.world import ROLES, TUESDAY, World, world_build

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SU, BO, OPS, CARE = "superuser", "back_office", "ops", "care"
STAFF = (SU, BO, OPS, CARE)


def roles(spec: str) -> frozenset[str]:
    """ "su bo" → {superuser, back_office}; "-" → nobody."""
    codes = {"su": SU, "bo": BO, "ops": OPS, "care": CARE}
    return frozenset(codes[code] for code in spec.split() if code != "-")


# --- the table ---------------------------------------------------------------------------------
# Every registered admin model: who opens its (list, add form, change form of a row, delete
# confirmation). Anonymous visitors and shoppers open none of them.
ADMIN_MODELS: dict[str, tuple[str, str, str, str]] = {
    "address.country": ("su", "su", "su", "su"),
    "address.useraddress": ("su", "su", "su", "su"),
    "analytics.productrecord": ("su", "su", "su", "su"),
    "analytics.userproductview": ("su", "su", "su", "su"),
    "analytics.userrecord": ("su", "su", "su", "su"),
    "analytics.usersearch": ("su", "su", "su", "su"),
    "auth.group": ("su", "su", "su", "su"),
    # customer care finds accounts (read only: no role but superusers changes users or groups)
    "auth.user": ("su care", "su", "su care", "su"),
    "axes.accessattempt": ("su care", "-", "su care", "su care"),
    "axes.accessfailurelog": ("su", "-", "su", "su"),
    "axes.accesslog": ("su", "-", "su", "su"),
    "basket.basket": ("su", "su", "su", "su"),
    "basket.line": ("su", "su", "su", "su"),
    "basket.lineattribute": ("su", "su", "su", "su"),
    "baskets.basketsubscription": ("su care", "-", "su care", "-"),
    "baskets.baskettheme": ("su bo", "su bo", "su bo", "su bo"),
    "baskets.basketvariant": ("su bo", "su bo", "su bo", "su bo"),
    "baskets.groceryproduct": ("su bo", "su bo", "su bo", "su"),
    "baskets.subscriptionrenewal": ("su care", "-", "su care", "-"),
    "baskets.themedbasket": ("su bo", "su bo", "su bo", "su bo"),
    "catalogue.attributeoptiongroup": ("su", "su", "su", "su"),
    "catalogue.category": ("su bo", "su", "su bo", "su"),
    "catalogue.option": ("su", "su", "su", "su"),
    "catalogue.product": ("su bo", "su bo", "su bo", "su"),
    "catalogue.productattribute": ("su", "su", "su", "su"),
    "catalogue.productattributevalue": ("su", "su", "su", "su"),
    "catalogue.productcategory": ("su", "su", "su", "su"),
    "catalogue.productclass": ("su", "su", "su", "su"),
    "catalogue.productimage": ("su", "su", "su", "su"),
    "communication.communicationeventtype": ("su", "su", "su", "su"),
    "communication.email": ("su", "su", "su", "su"),
    "communication.notification": ("su", "su", "su", "su"),
    "customer.productalert": ("su", "su", "su", "su"),
    "delivery.bus": ("su ops", "su ops", "su ops", "su ops"),
    "delivery.closeddate": ("su ops", "su ops", "su ops", "su ops"),
    "delivery.deliverydate": ("su ops", "-", "su ops", "-"),
    "delivery.deliverymove": ("su ops", "-", "su ops", "su"),
    "delivery.depot": ("su ops", "su ops", "su ops", "su ops"),
    "delivery.district": ("su ops", "su", "su ops", "su"),
    "delivery.manifestexport": ("su ops", "-", "su ops", "-"),
    "delivery.orderdelivery": ("su ops", "-", "su ops", "su"),
    "delivery.planrun": ("su ops", "-", "su ops", "su"),
    # its change page sends to the date page; it now refuses first who may not view plans
    "delivery.routeplan": ("su ops", "-", "su ops", "-"),
    "delivery.waitlistentry": ("su ops", "-", "su ops", "su ops"),
    "flatpages.flatpage": ("su", "su", "su", "su"),
    "offer.benefit": ("su", "su", "su", "su"),
    "offer.condition": ("su", "su", "su", "su"),
    "offer.conditionaloffer": ("su", "su", "su", "su"),
    "offer.range": ("su", "su", "su", "su"),
    "order.billingaddress": ("su", "su", "su", "su"),
    "order.communicationevent": ("su", "su", "su", "su"),
    "order.line": ("su", "su", "su", "su"),
    "order.lineattribute": ("su", "su", "su", "su"),
    "order.lineprice": ("su", "su", "su", "su"),
    "order.order": ("su care", "su", "su care", "su"),
    "order.orderdiscount": ("su", "su", "su", "su"),
    "order.ordernote": ("su", "su", "su", "su"),
    "order.orderstatuschange": ("su", "su", "su", "su"),
    "order.paymentevent": ("su", "su", "su", "su"),
    "order.paymenteventtype": ("su", "su", "su", "su"),
    "order.shippingaddress": ("su", "su", "su", "su"),
    "order.shippingevent": ("su", "su", "su", "su"),
    "order.shippingeventtype": ("su", "su", "su", "su"),
    "order.surcharge": ("su", "su", "su", "su"),
    "partner.partner": ("su bo", "su", "su bo", "su"),
    "partner.stockrecord": ("su bo", "su bo", "su bo", "su"),
    "payment.bankcard": ("su", "su", "su", "su"),
    "payment.source": ("su", "su", "su", "su"),
    "payment.sourcetype": ("su", "su", "su", "su"),
    "payment.transaction": ("su", "su", "su", "su"),
    "payments.stripecustomer": ("su", "-", "su", "-"),
    "payments.stripeevent": ("su", "-", "su", "-"),
    "payments.stripeoperation": ("su care", "-", "su care", "-"),
    "privacy.consent": ("su care", "-", "su care", "-"),
    "reviews.productreview": ("su", "su", "su", "su"),
    "reviews.vote": ("su", "su", "su", "su"),
    "shipping.orderanditemcharges": ("su", "su", "su", "su"),
    "shipping.weightbased": ("su", "su", "su", "su"),
    "sites.site": ("su", "su", "su", "su"),
    "supply.componentsubstitution": ("su bo", "su bo", "su bo", "su bo"),
    "supply.pickingtotals": ("su bo ops", "-", "su bo ops", "-"),
    "supply.supplycommitment": ("su bo", "su bo", "su bo", "su bo"),
    "supply.supplywaitlistentry": ("su bo", "su", "su bo", "su"),
    "supply.variantsupplycap": ("su bo", "su bo", "su bo", "su"),
    "voucher.voucher": ("su", "su", "su", "su"),
    "voucher.voucherapplication": ("su", "su", "su", "su"),
    "waitingroom.prioritycode": ("su care", "su care", "su care", "su"),
    "waitingroom.priorityshopper": ("su care", "su care", "su care", "su care"),
    "waitingroom.waitingroomsettings": ("su ops", "-", "su ops", "-"),
    "waitingroom.waitingroomsettingschange": ("su ops", "-", "su ops", "-"),
    "wishlists.line": ("su", "su", "su", "su"),
    "wishlists.wishlist": ("su", "su", "su", "su"),
    "wishlists.wishlistsharedemail": ("su", "su", "su", "su"),
}

# Custom admin views, ops views and Oscar's dashboard: who opens each. Nobody else does.
VIEWS: dict[str, str] = {
    "admin:index": "su bo ops care",
    "admin:app_list[address]": "su",
    "admin:app_list[analytics]": "su",
    "admin:app_list[auth]": "su care",
    "admin:app_list[axes]": "su care",
    "admin:app_list[basket]": "su",
    "admin:app_list[baskets]": "su bo care",
    "admin:app_list[catalogue]": "su bo",
    "admin:app_list[communication]": "su",
    "admin:app_list[customer]": "su",
    "admin:app_list[delivery]": "su ops",
    "admin:app_list[flatpages]": "su",
    "admin:app_list[offer]": "su",
    "admin:app_list[order]": "su care",
    "admin:app_list[partner]": "su bo",
    "admin:app_list[payment]": "su",
    "admin:app_list[payments]": "su care",
    "admin:app_list[privacy]": "su care",
    "admin:app_list[reviews]": "su",
    "admin:app_list[shipping]": "su",
    "admin:app_list[sites]": "su",
    "admin:app_list[supply]": "su bo ops",
    "admin:app_list[voucher]": "su",
    "admin:app_list[waitingroom]": "su ops care",
    "admin:app_list[wishlists]": "su",
    "admin:password_change": "su bo ops care",
    "admin:password_change_done": "su bo ops care",
    "admin:auth_user_password_change": "su",
    # ops and customer care may not import grocery products (prices and costs): fixed, see
    # GroceryProductAdmin.has_import_permission
    "admin:baskets_groceryproduct_import": "su bo",
    "admin:baskets_groceryproduct_process_import": "su bo",
    "admin:baskets_groceryproduct_export": "su bo",
    "admin:baskets_basketvariant_facts": "su bo",
    "admin:baskets_basketsubscription_pause": "su care",
    "admin:baskets_basketsubscription_cancel": "su care",
    "admin:baskets_basketsubscription_resume": "su care",
    "admin:delivery_district_reschedule": "su ops",
    "admin:delivery_district_chart": "su ops",
    "admin:delivery_deliverydate_chart": "su ops",
    "admin:delivery_waitlistentry_per_postcode": "su ops",
    "admin:delivery_routeplan_date_pick": "su ops",
    "admin:delivery_routeplan_date": "su ops",
    "admin:delivery_routeplan_replan": "su ops",
    "admin:delivery_routeplan_manifest[route_sheet.csv]": "su ops",
    "admin:delivery_routeplan_manifest[route_sheet.xlsx]": "su ops",
    "admin:delivery_routeplan_manifest[route_sheet.pdf]": "su ops",
    "admin:delivery_routeplan_manifest[loading_list.csv]": "su ops",
    "admin:delivery_routeplan_manifest[picking_list.csv]": "su ops",
    "admin:delivery_routeplan_lock": "su ops",
    "admin:delivery_routeplan_move": "su ops",
    "admin:supply_page": "su bo",
    "admin:supply_page_xlsx": "su bo",
    "admin:supply_refresh": "su bo",
    "admin:supply_pickingtotals_export[csv]": "su bo ops",
    "admin:supply_pickingtotals_export[xlsx]": "su bo ops",
    "admin:supply_pickingtotals_export[pdf]": "su bo ops",
    # aggregate queue figures, for any staff member (README: waiting room)
    "waitingroom:status": "su bo ops care",
    # the Stripe refund form posts here (order.change_order)
    "payments:refund": "su care",
    # Oscar opens its dashboard home to any staff member: aggregate figures, no customer
    "dashboard:index": "su bo ops care",
    "dashboard:reports-index": "su",
    "dashboard:order-list": "su care",
    "dashboard:order-list[csv]": "su care",
    "dashboard:order-stats": "su care",
    "dashboard:order-detail": "su care",
    "dashboard:order-detail-note": "su care",
    "dashboard:order-line-detail": "su care",
    "dashboard:order-shipping-address": "su care",
    "dashboard:users-index": "su care",
    "dashboard:user-detail": "su care",
    "dashboard:user-password-reset": "su",
    "dashboard:user-alert-list": "su care",
    "dashboard:user-alert-update": "su",
    "dashboard:user-alert-delete": "su",
    "dashboard:catalogue-product-list": "su bo",
    "dashboard:catalogue-product": "su bo",
    "dashboard:catalogue-product-create": "su bo",
    "dashboard:catalogue-product-create[class]": "su bo",
    "dashboard:catalogue-product-create-child": "su bo",
    "dashboard:catalogue-product-delete": "su",
    "dashboard:catalogue-product-bulk-action": "su bo",
    "dashboard:catalogue-product-lookup": "su bo",
    "dashboard:stock-alert-list": "su",
    "dashboard:catalogue-category-list": "su bo",
    "dashboard:catalogue-category-detail-list": "su bo",
    "dashboard:catalogue-category-create": "su",
    "dashboard:catalogue-category-create-child": "su",
    "dashboard:catalogue-category-update": "su",
    "dashboard:catalogue-category-delete": "su",
    "dashboard:catalogue-class-list": "su",
    "dashboard:catalogue-class-create": "su",
    "dashboard:catalogue-class-update": "su",
    "dashboard:catalogue-class-delete": "su",
    "dashboard:catalogue-attribute-option-group-list": "su",
    "dashboard:catalogue-attribute-option-group-create": "su",
    "dashboard:catalogue-attribute-option-group-update": "su",
    "dashboard:catalogue-attribute-option-group-delete": "su",
    "dashboard:catalogue-option-list": "su",
    "dashboard:catalogue-option-create": "su",
    "dashboard:catalogue-option-update": "su",
    "dashboard:catalogue-option-delete": "su",
    "dashboard:page-list": "su",
    "dashboard:page-create": "su",
    "dashboard:page-update": "su",
    "dashboard:page-delete": "su",
    "dashboard:partner-list": "su bo",
    "dashboard:partner-create": "su",
    "dashboard:partner-manage": "su bo",
    "dashboard:partner-delete": "su",
    "dashboard:partner-user-create": "su",
    "dashboard:partner-user-select": "su",
    "dashboard:partner-user-link": "su",
    "dashboard:partner-user-unlink": "su",
    "dashboard:partner-user-update": "su",
    "dashboard:offer-list": "su",
    "dashboard:offer-metadata[new]": "su",
    "dashboard:offer-condition[new]": "su",
    "dashboard:offer-benefit[new]": "su",
    "dashboard:offer-restrictions[new]": "su",
    "dashboard:offer-metadata": "su",
    "dashboard:offer-condition": "su",
    "dashboard:offer-benefit": "su",
    "dashboard:offer-restrictions": "su",
    "dashboard:offer-delete": "su",
    "dashboard:offer-detail": "su",
    "dashboard:range-list": "su",
    "dashboard:range-create": "su",
    "dashboard:range-update": "su",
    "dashboard:range-delete": "su",
    "dashboard:range-products": "su",
    "dashboard:range-reorder": "su",
    "dashboard:reviews-list": "su",
    "dashboard:reviews-update": "su",
    "dashboard:reviews-delete": "su",
    "dashboard:voucher-list": "su",
    "dashboard:voucher-create": "su",
    "dashboard:voucher-update": "su",
    "dashboard:voucher-delete": "su",
    "dashboard:voucher-stats": "su",
    "dashboard:voucher-set-list": "su",
    "dashboard:voucher-set-create": "su",
    "dashboard:voucher-set-update": "su",
    "dashboard:voucher-set-detail": "su",
    "dashboard:voucher-set-download": "su",
    "dashboard:voucher-set-delete": "su",
    "dashboard:comms-list": "su",
    "dashboard:comms-update": "su",
    "dashboard:shipping-method-list": "su",
    "dashboard:shipping-method-create": "su",
    "dashboard:shipping-method-detail": "su",
    "dashboard:shipping-method-edit": "su",
    "dashboard:shipping-method-delete": "su",
    "dashboard:shipping-method-band-edit": "su",
    "dashboard:shipping-method-band-delete": "su",
}

# Pages anyone may open, by design (logging in and out, the admin's JavaScript catalogue).
PUBLIC = {
    "admin:login",
    "admin:logout",
    "admin:jsi18n",
    "admin:javascript-catalog",
    "dashboard:login",
    "dashboard:logout",
}


# --- what to request -------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    key: str
    path: str
    method: str = "get"


ADMIN_ACTIONS = ("changelist", "add", "change", "delete")


def admin_model_requests(world: World) -> list[Request]:
    requests = []
    for model in admin.site._registry:
        label = model._meta.label_lower
        app_label, model_name = label.split(".")
        row = world.objects[label]
        for action in ADMIN_ACTIONS:
            args = [row.pk] if action in ("change", "delete") else []
            url = reverse(f"admin:{app_label}_{model_name}_{action}", args=args)
            requests.append(Request(f"{label}:{action}", url))
    return requests


def view_requests(world: World) -> list[Request]:
    """Every other staff URL, with the ids of real rows."""
    day = TUESDAY.isoformat()
    route = world.plan.routes.first()
    stop = route.stops.first()
    sub = world.subscription
    order = world.order
    o = world.objects
    product = o["catalogue.product"]
    parent = sub.variant.product.parent
    partner = o["partner.partner"]
    partner_user = world.users["back_office"]
    partner.users.add(partner_user)
    band = o["shipping.weightbased"].bands.first()
    r = reverse

    def dash(name, *args):
        return r(f"dashboard:{name}", args=args)

    requests = [
        Request("admin:index", r("admin:index")),
        *(
            Request(f"admin:app_list[{label}]", r("admin:app_list", args=[label]))
            for label in sorted({m._meta.app_label for m in admin.site._registry})
        ),
        # a staff member changes their own password; another user's needs change_user
        Request("admin:password_change", r("admin:password_change")),
        Request("admin:password_change_done", r("admin:password_change_done")),
        Request(
            "admin:auth_user_password_change",
            r("admin:auth_user_password_change", args=[world.users["shopper"].pk]),
        ),
        # baskets
        Request("admin:baskets_groceryproduct_import", r("admin:baskets_groceryproduct_import")),
        Request(
            "admin:baskets_groceryproduct_process_import",
            r("admin:baskets_groceryproduct_process_import"),
            "post",
        ),
        Request("admin:baskets_groceryproduct_export", r("admin:baskets_groceryproduct_export")),
        Request("admin:baskets_basketvariant_facts", r("admin:baskets_basketvariant_facts")),
        Request(
            "admin:baskets_basketsubscription_pause",
            r("admin:baskets_basketsubscription_pause", args=[sub.pk]),
        ),
        Request(
            "admin:baskets_basketsubscription_cancel",
            r("admin:baskets_basketsubscription_cancel", args=[sub.pk]),
        ),
        Request(
            "admin:baskets_basketsubscription_resume",
            r("admin:baskets_basketsubscription_resume", args=[sub.pk]),
            "post",
        ),
        # delivery: districts, dates, waiting list
        Request(
            "admin:delivery_district_reschedule",
            r("admin:delivery_district_reschedule", args=[sub.district_id]),
        ),
        Request(
            "admin:delivery_district_chart",
            r("admin:delivery_district_chart", args=[sub.district_id]),
        ),
        Request("admin:delivery_deliverydate_chart", r("admin:delivery_deliverydate_chart")),
        Request(
            "admin:delivery_waitlistentry_per_postcode",
            r("admin:delivery_waitlistentry_per_postcode"),
        ),
        # delivery: routes and manifests
        Request(
            "admin:delivery_routeplan_date_pick",
            r("admin:delivery_routeplan_date_pick") + f"?day={day}",
        ),
        Request("admin:delivery_routeplan_date", r("admin:delivery_routeplan_date", args=[day])),
        Request(
            "admin:delivery_routeplan_replan",
            r("admin:delivery_routeplan_replan", args=[day]),
            "post",
        ),
        *(
            Request(
                f"admin:delivery_routeplan_manifest[{kind}.{fmt}]",
                r("admin:delivery_routeplan_manifest", args=[day, kind, fmt]),
            )
            for kind, fmt in (
                ("route_sheet", "csv"),
                ("route_sheet", "xlsx"),
                ("route_sheet", "pdf"),
                ("loading_list", "csv"),
                ("picking_list", "csv"),
            )
        ),
        Request(
            "admin:delivery_routeplan_lock",
            r("admin:delivery_routeplan_lock", args=[route.pk]),
            "post",
        ),
        Request(
            "admin:delivery_routeplan_move",
            r("admin:delivery_routeplan_move", args=[stop.pk]),
            "post",
        ),
        # supply
        Request("admin:supply_page", r("admin:supply_page")),
        Request("admin:supply_page_xlsx", r("admin:supply_page_xlsx")),
        Request("admin:supply_refresh", r("admin:supply_refresh")),
        *(
            Request(
                f"admin:supply_pickingtotals_export[{fmt}]",
                r("admin:supply_pickingtotals_export", args=[day, fmt]),
            )
            for fmt in ("csv", "xlsx", "pdf")
        ),
        # outside the admin: the waiting room's figures, the Stripe refund form's action
        Request("waitingroom:status", r("waitingroom:status")),
        Request("payments:refund", r("payments:refund"), "post"),
        # Oscar's dashboard
        Request("dashboard:index", dash("index")),
        Request("dashboard:reports-index", dash("reports-index")),
        Request("dashboard:order-list", dash("order-list")),
        Request("dashboard:order-list[csv]", dash("order-list") + "?response_format=csv"),
        Request("dashboard:order-stats", dash("order-stats")),
        Request("dashboard:order-detail", dash("order-detail", order.number)),
        Request(
            "dashboard:order-detail-note",
            dash("order-detail-note", order.number, o["order.ordernote"].pk),
        ),
        Request(
            "dashboard:order-line-detail",
            dash("order-line-detail", order.number, order.lines.first().pk),
        ),
        Request("dashboard:order-shipping-address", dash("order-shipping-address", order.number)),
        Request("dashboard:users-index", dash("users-index")),
        Request("dashboard:user-detail", dash("user-detail", world.users["shopper"].pk)),
        Request(
            "dashboard:user-password-reset",
            dash("user-password-reset", world.users["shopper"].pk),
            "post",
        ),
        Request("dashboard:user-alert-list", dash("user-alert-list")),
        Request(
            "dashboard:user-alert-update",
            dash("user-alert-update", o["customer.productalert"].pk),
        ),
        Request(
            "dashboard:user-alert-delete",
            dash("user-alert-delete", o["customer.productalert"].pk),
        ),
        Request("dashboard:catalogue-product-list", dash("catalogue-product-list")),
        Request("dashboard:catalogue-product", dash("catalogue-product", product.pk)),
        Request("dashboard:catalogue-product-create", dash("catalogue-product-create")),
        Request(
            "dashboard:catalogue-product-create[class]",
            r(
                "dashboard:catalogue-product-create",
                kwargs={"product_class_slug": product.get_product_class().slug},
            ),
        ),
        Request(
            "dashboard:catalogue-product-create-child",
            dash("catalogue-product-create-child", parent.pk),
        ),
        Request("dashboard:catalogue-product-delete", dash("catalogue-product-delete", product.pk)),
        Request(
            "dashboard:catalogue-product-bulk-action",
            dash("catalogue-product-bulk-action"),
            "post",
        ),
        Request("dashboard:catalogue-product-lookup", dash("catalogue-product-lookup")),
        Request("dashboard:stock-alert-list", dash("stock-alert-list")),
        Request("dashboard:catalogue-category-list", dash("catalogue-category-list")),
        Request(
            "dashboard:catalogue-category-detail-list",
            dash("catalogue-category-detail-list", o["catalogue.category"].pk),
        ),
        Request("dashboard:catalogue-category-create", dash("catalogue-category-create")),
        Request(
            "dashboard:catalogue-category-create-child",
            dash("catalogue-category-create-child", o["catalogue.category"].pk),
        ),
        Request(
            "dashboard:catalogue-category-update",
            dash("catalogue-category-update", o["catalogue.category"].pk),
        ),
        Request(
            "dashboard:catalogue-category-delete",
            dash("catalogue-category-delete", o["catalogue.category"].pk),
        ),
        Request("dashboard:catalogue-class-list", dash("catalogue-class-list")),
        Request("dashboard:catalogue-class-create", dash("catalogue-class-create")),
        Request(
            "dashboard:catalogue-class-update",
            dash("catalogue-class-update", o["catalogue.productclass"].pk),
        ),
        Request(
            "dashboard:catalogue-class-delete",
            dash("catalogue-class-delete", o["catalogue.productclass"].pk),
        ),
        Request(
            "dashboard:catalogue-attribute-option-group-list",
            dash("catalogue-attribute-option-group-list"),
        ),
        Request(
            "dashboard:catalogue-attribute-option-group-create",
            dash("catalogue-attribute-option-group-create"),
        ),
        Request(
            "dashboard:catalogue-attribute-option-group-update",
            dash("catalogue-attribute-option-group-update", o["catalogue.attributeoptiongroup"].pk),
        ),
        Request(
            "dashboard:catalogue-attribute-option-group-delete",
            dash("catalogue-attribute-option-group-delete", o["catalogue.attributeoptiongroup"].pk),
        ),
        Request("dashboard:catalogue-option-list", dash("catalogue-option-list")),
        Request("dashboard:catalogue-option-create", dash("catalogue-option-create")),
        Request(
            "dashboard:catalogue-option-update",
            dash("catalogue-option-update", o["catalogue.option"].pk),
        ),
        Request(
            "dashboard:catalogue-option-delete",
            dash("catalogue-option-delete", o["catalogue.option"].pk),
        ),
        Request("dashboard:page-list", dash("page-list")),
        Request("dashboard:page-create", dash("page-create")),
        Request("dashboard:page-update", dash("page-update", o["flatpages.flatpage"].pk)),
        Request("dashboard:page-delete", dash("page-delete", o["flatpages.flatpage"].pk)),
        Request("dashboard:partner-list", dash("partner-list")),
        Request("dashboard:partner-create", dash("partner-create")),
        Request("dashboard:partner-manage", dash("partner-manage", partner.pk)),
        Request("dashboard:partner-delete", dash("partner-delete", partner.pk)),
        Request("dashboard:partner-user-create", dash("partner-user-create", partner.pk)),
        Request("dashboard:partner-user-select", dash("partner-user-select", partner.pk)),
        Request(
            "dashboard:partner-user-link",
            dash("partner-user-link", partner.pk, world.users["shopper"].pk),
            "post",
        ),
        # (before the unlink below, which removes that user from the partner)
        Request(
            "dashboard:partner-user-update",
            dash("partner-user-update", partner.pk, partner_user.pk),
        ),
        Request(
            "dashboard:partner-user-unlink",
            dash("partner-user-unlink", partner.pk, partner_user.pk),
            "post",
        ),
        Request("dashboard:offer-list", dash("offer-list")),
        Request("dashboard:offer-metadata[new]", r("dashboard:offer-metadata")),
        Request("dashboard:offer-condition[new]", r("dashboard:offer-condition")),
        Request("dashboard:offer-benefit[new]", r("dashboard:offer-benefit")),
        Request("dashboard:offer-restrictions[new]", r("dashboard:offer-restrictions")),
        *(
            Request(f"dashboard:{name}", dash(name, o["offer.conditionaloffer"].pk))
            for name in (
                "offer-metadata",
                "offer-condition",
                "offer-benefit",
                "offer-restrictions",
                "offer-delete",
                "offer-detail",
            )
        ),
        Request("dashboard:range-list", dash("range-list")),
        Request("dashboard:range-create", dash("range-create")),
        *(
            Request(f"dashboard:{name}", dash(name, o["offer.range"].pk))
            for name in ("range-update", "range-delete", "range-products")
        ),
        Request("dashboard:range-reorder", dash("range-reorder", o["offer.range"].pk), "post"),
        Request("dashboard:reviews-list", dash("reviews-list")),
        Request("dashboard:reviews-update", dash("reviews-update", o["reviews.productreview"].pk)),
        Request("dashboard:reviews-delete", dash("reviews-delete", o["reviews.productreview"].pk)),
        Request("dashboard:voucher-list", dash("voucher-list")),
        Request("dashboard:voucher-create", dash("voucher-create")),
        *(
            Request(f"dashboard:{name}", dash(name, o["voucher.voucher"].pk))
            for name in ("voucher-update", "voucher-delete", "voucher-stats")
        ),
        Request("dashboard:voucher-set-list", dash("voucher-set-list")),
        Request("dashboard:voucher-set-create", dash("voucher-set-create")),
        *(
            Request(f"dashboard:{name}", dash(name, o["voucher.voucherset"].pk))
            for name in (
                "voucher-set-update",
                "voucher-set-detail",
                "voucher-set-download",
                "voucher-set-delete",
            )
        ),
        Request("dashboard:comms-list", dash("comms-list")),
        Request(
            "dashboard:comms-update",
            r(
                "dashboard:comms-update",
                kwargs={"slug": o["communication.communicationeventtype"].code},
            ),
        ),
        Request("dashboard:shipping-method-list", dash("shipping-method-list")),
        Request("dashboard:shipping-method-create", dash("shipping-method-create")),
        *(
            Request(f"dashboard:{name}", dash(name, o["shipping.weightbased"].pk))
            for name in ("shipping-method-detail", "shipping-method-edit", "shipping-method-delete")
        ),
        Request(
            "dashboard:shipping-method-band-edit",
            dash("shipping-method-band-edit", o["shipping.weightbased"].pk, band.pk),
        ),
        Request(
            "dashboard:shipping-method-band-delete",
            dash("shipping-method-band-delete", o["shipping.weightbased"].pk, band.pk),
        ),
    ]
    return requests


def staff_url_names() -> set[str]:
    """Every named URL of the admin and the dashboard (what view_requests must cover)."""
    names = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                inner = pattern.namespace or namespace
                walk(pattern.url_patterns, inner if not namespace else namespace)
            elif pattern.name and namespace in ("admin", "dashboard"):
                names.add(f"{namespace}:{pattern.name}")

    walk(get_resolver().url_patterns, "")
    return names


# --- judging an answer --------------------------------------------------------------------------

LOGIN_PATHS = ("/admin/login/", "/accounts/login/", "/dashboard/login/")


def verdict(response, method: str, key: str = "") -> str:
    status = response.status_code
    if status == 404 and key.startswith("admin:app_list"):
        # the admin hides an application holding nothing the user may see
        return "refused"
    if status >= 500:
        return f"error {status}"
    if status == 403:
        return "refused"
    if status in (301, 302):
        location = response["Location"]
        return "refused" if any(p in location for p in LOGIN_PATHS) else "allowed"
    if status == 200:
        return "allowed"
    if method == "post" and status in (400, 405, 409):
        # an empty form is turned down, but by the view itself: the role got through
        return "allowed"
    return f"unexpected {status}"


def expected(key: str, role: str) -> str:
    if role in ("anonymous", "shopper"):
        return "refused"
    if ":" in key and key.split(":")[1] in ADMIN_ACTIONS and key.split(":")[0] in ADMIN_MODELS:
        label, action = key.split(":")
        spec = ADMIN_MODELS[label][ADMIN_ACTIONS.index(action)]
    else:
        spec = VIEWS[key]
    return "allowed" if role in roles(spec) else "refused"


def client_for(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world() -> World:
    return world_build()


def installed(key: str) -> bool:
    """Rows of apps that are not installed (axes, privacy in a trimmed deployment) drop out:
    "axes.accessattempt" and "admin:app_list[axes]" belong to axes, other views to everyone."""
    from django.apps import apps

    if key.startswith("admin:app_list["):
        app_label = key.removeprefix("admin:app_list[").removesuffix("]")
    elif ":" not in key:
        app_label = key.split(".")[0]
    else:
        return True
    return app_label in {config.label for config in apps.get_app_configs()}


def test_the_table_covers_every_admin_model_and_every_staff_url(world):
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == {label for label in ADMIN_MODELS if installed(label)}, (
        "every admin model needs its row in ADMIN_MODELS"
    )
    covered = {request.key.split("[")[0] for request in view_requests(world)}
    model_urls = {
        f"admin:{label.replace('.', '_')}_{action}"
        for label in registered
        for action in (*ADMIN_ACTIONS, "history", "autocomplete")
    }
    # The admin's own plumbing: autocomplete answers with the rows a role may already view;
    # view_on_site redirects to a shop page.
    missing = staff_url_names() - covered - model_urls - PUBLIC
    missing -= {"admin:autocomplete", "admin:view_on_site"}
    missing -= {name for name in missing if name.endswith("_history")}
    assert not missing, f"staff URLs the matrix does not request: {sorted(missing)}"
    assert {key for key in VIEWS if installed(key)} == {r.key for r in view_requests(world)}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_what_the_table_says(world, role):
    client = client_for(world, role)
    observed = {}
    for request in admin_model_requests(world) + view_requests(world):
        response = getattr(client, request.method)(request.path)
        observed[request.key] = verdict(response, request.method, request.key)
    wrong = {
        key: f"{got}, expected {expected(key, role)}"
        for key, got in observed.items()
        if got != expected(key, role)
    }
    assert not wrong, f"{role}: {len(wrong)} pages differ from the table:\n" + "\n".join(
        f"  {key}: {what}" for key, what in sorted(wrong.items())
    )
