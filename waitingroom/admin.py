"""Admin: ops' live settings (with the room's figures now and the change history), customer
care's priority customers and the priority codes for social services."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from essentiels.admin import ReadOnlyAdmin
from waitingroom.admission import room_status
from waitingroom.config import waiting_room_settings_update
from waitingroom.models import (
    SETTINGS_PK,
    PriorityCode,
    PriorityCodeRedemption,
    PriorityShopper,
    WaitingRoomSettings,
    WaitingRoomSettingsChange,
)
from waitingroom.priority import priority_code_prepare, priority_code_revoke


@admin.register(WaitingRoomSettings)
class WaitingRoomSettingsAdmin(admin.ModelAdmin):
    """One page: the settings form, what the room looks like now, and the last changes."""

    fields = ("enabled", "admit_per_minute", "max_active", "idle_minutes", "room_now")
    readonly_fields = ("room_now",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        WaitingRoomSettings.objects.get_or_create(
            pk=SETTINGS_PK, defaults=WaitingRoomSettings.defaults()
        )
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[SETTINGS_PK])
        )

    def save_model(self, request, obj, form, change):
        waiting_room_settings_update(
            by=request.user,
            enabled=obj.enabled,
            admit_per_minute=obj.admit_per_minute,
            max_active=obj.max_active,
            idle_minutes=obj.idle_minutes,
        )
        obj.refresh_from_db()

    @admin.display(description=_("the room now"))
    def room_now(self, obj):
        status = room_status()
        if not status.available:
            return _("Redis does not answer: everybody is let in.")
        rows = [
            (_("active shoppers"), f"{status.active} / {status.max_active}"),
            (_("waiting (priority lane)"), status.queued_priority),
            (_("waiting (normal lane)"), status.queued),
            (_("admitted in the last minute"), status.admitted_last_minute),
            (
                _("admitted per minute (last 5 minutes)"),
                f"{status.admitted_last_5_minutes / 5:.1f}",
            ),
        ]
        changes = WaitingRoomSettingsChange.objects.select_related("changed_by")[:5]
        history = format_html_join(
            "",
            "<li>{} — {}: {}</li>",
            (
                (
                    timezone.localtime(change.changed_at).strftime("%d/%m/%Y %H:%M"),
                    change.changed_by or "-",
                    _change_summary(change),
                )
                for change in changes
            ),
        )
        return format_html(
            "<table>{}</table><p>{}</p><ul>{}</ul>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
            _("Last changes:"),
            history,
        )


def _change_summary(change: WaitingRoomSettingsChange) -> str:
    parts = [
        f"{key} {change.before.get(key)} → {value}"
        for key, value in change.after.items()
        if change.before.get(key) != value
    ]
    return ", ".join(parts)


@admin.register(WaitingRoomSettingsChange)
class WaitingRoomSettingsChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "changed_by", "summary")
    list_select_related = ("changed_by",)

    @admin.display(description=_("change"))
    def summary(self, obj):
        return _change_summary(obj)


class PriorityShopperForm(forms.ModelForm):
    email = forms.EmailField(
        label=_("customer's email"), help_text=_("The email of the customer's account.")
    )

    class Meta:
        model = PriorityShopper
        fields = ("until", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email

    def clean_email(self):
        email = self.cleaned_data["email"]
        users = get_user_model().objects.filter(email__iexact=email)
        if users.count() != 1:
            raise forms.ValidationError(_("No single customer account has this email."))
        user = users.get()
        taken = PriorityShopper.objects.filter(user=user).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("This customer is already on the priority list."))
        self.instance.user = user
        return email


@admin.register(PriorityShopper)
class PriorityShopperAdmin(admin.ModelAdmin):
    form = PriorityShopperForm
    fields = ("email", "until", "note")
    list_display = ("user_email", "until", "note", "created_by", "created_at")
    list_select_related = ("user", "created_by")
    search_fields = ("user__email", "note")

    @admin.display(description=_("customer"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class PriorityCodeRedemptionInline(admin.TabularInline):
    model = PriorityCodeRedemption
    fields = ("redeemed_at", "visitor")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


def _default_expiry():
    return timezone.now() + timedelta(days=30)


@admin.register(PriorityCode)
class PriorityCodeAdmin(admin.ModelAdmin):
    list_display = ("label", "hint", "uses", "max_uses", "expires_at", "revoked_at", "created_by")
    list_select_related = ("created_by",)
    search_fields = ("label", "hint")
    list_filter = ("revoked_at",)
    readonly_fields = ("hint", "uses", "revoked_at", "created_by", "created_at")
    inlines = [PriorityCodeRedemptionInline]
    actions = ["revoke"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("label", "max_uses", "expires_at")
        return ("label", "hint", "max_uses", "uses", "expires_at", "revoked_at", "created_by")

    def get_changeform_initial_data(self, request):
        return {
            "expires_at": _default_expiry(),
            "max_uses": 1,
            **super().get_changeform_initial_data(request),
        }

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        plain = priority_code_prepare(obj)
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        messages.warning(
            request,
            format_html(
                "{} <strong style='font-size:1.3em;letter-spacing:.1em'>{}</strong> — {}",
                _("The code is"),
                plain,
                _("write it down now: it is stored hashed and will not be shown again."),
            ),
        )

    @admin.action(description=_("Revoke the selected codes"), permissions=["change"])
    def revoke(self, request, queryset):
        for code in queryset:
            priority_code_revoke(code_id=code.pk)
        self.message_user(request, _("Codes revoked."))
