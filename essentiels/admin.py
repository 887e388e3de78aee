from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are evidence (payment ledger, webhook events, renewals): staff read
    them, only code writes them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
