from django import forms
from django.utils.translation import gettext_lazy as _

from privacy.models import ConsentPurpose
from privacy.wording import WORDING


class MarketingConsentForm(forms.Form):
    """The marketing email box, unticked unless the shopper agreed before."""

    marketing_email = forms.BooleanField(
        label=WORDING[ConsentPurpose.MARKETING_EMAIL], required=False
    )


class AccountCloseForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that my account is closed for good and cannot be reopened."),
        required=True,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your password."))
        return password
