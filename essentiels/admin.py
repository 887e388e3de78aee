from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are evidence (payment ledger, webhook events, renewals): staff read
    them, only code writes them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Login throttling (django-axes): staff unlock a locked shopper or address ---------------------


class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """axes' list of failed logins (one row per email × address × browser), with "Unlock":
    deleting the rows lifts the lock at once (essentiels/security/login_throttle.py)."""

    actions = ["unlock", *AxesAccessAttemptAdmin.actions]

    @admin.action(description=_("Unlock: forget these failed logins"), permissions=["delete"])
    def unlock(self, request, queryset):
        count = queryset.count()
        queryset.delete()
        self.message_user(
            request,
            ngettext(
                "%(count)d failed-login record deleted: unlocked.",
                "%(count)d failed-login records deleted: unlocked.",
                count,
            )
            % {"count": count},
        )


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)
