from django.contrib import admin

from essentiels.admin import ReadOnlyAdmin
from payments.models import StripeCustomer, StripeEvent, StripeOperation


@admin.register(StripeOperation)
class StripeOperationAdmin(ReadOnlyAdmin):
    list_display = (
        "idempotency_key", "kind", "status", "stripe_status", "order_number", "amount",
        "stripe_id", "attempts", "created_at",
    )  # fmt: skip
    list_filter = ("kind", "status", "stripe_status")
    search_fields = ("order_number", "stripe_id", "idempotency_key")
    date_hierarchy = "created_at"


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "status", "livemode", "received_at", "processed_at")
    list_filter = ("type", "status", "livemode")
    search_fields = ("event_id", "payload__data__object__id")
    date_hierarchy = "received_at"


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ("customer_id", "email", "user", "created_at")
    search_fields = ("customer_id", "email", "user__email")
    raw_id_fields = ("user",)
