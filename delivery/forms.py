from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from delivery.models import Weekday
from delivery.postcodes import postcode_normalise

POSTCODE_HELP = _("Five digits, for example 75013.")
WAITLIST_CONSENT = _(
    "I agree that Les Essentiels keeps my email address and postcode to tell me, by email, when "
    "delivery opens in my area. I can ask for them to be deleted at any time."
)


class PostcodeField(forms.CharField):
    """Accepts "  75 013 " as 75013; anything else than five digits gets a clear message."""

    default_error_messages = {
        "invalid": _("Enter a French postcode of five digits, for example 75013."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("label", _("Postcode"))
        kwargs.setdefault("help_text", POSTCODE_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        code = postcode_normalise(value)
        if code is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return code


class PostcodeCheckForm(forms.Form):
    postcode = PostcodeField()
    commune = forms.CharField(label=_("Commune"), max_length=128, required=False)


class WaitlistForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    postcode = PostcodeField()
    commune = forms.CharField(max_length=128, required=False, widget=forms.HiddenInput)
    consent = forms.BooleanField(
        label=WAITLIST_CONSENT,
        error_messages={"required": _("Please tick the box so that we may write to you.")},
    )


class DistrictRescheduleForm(forms.Form):
    """Ops: a new weekday and capacity for a district (previewed before anything moves)."""

    weekday = forms.TypedChoiceField(
        label=_("Delivery weekday"), choices=Weekday.choices, coerce=int
    )
    capacity = forms.IntegerField(label=_("Capacity (baskets per delivery date)"), min_value=1)
