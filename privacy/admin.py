from django.contrib import admin

from essentiels.admin import ReadOnlyAdmin
from privacy.models import Consent


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    """Evidence of what each shopper agreed to: read, never edited (shoppers change their
    choice on their account page)."""

    list_display = ("user", "purpose", "given_at", "withdrawn_at", "source", "language")
    list_filter = ("purpose", "source", "withdrawn_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    readonly_fields = [f.name for f in Consent._meta.fields]
