"""Shopper forms: the basket list filters (a GET form, combinable filters in the URL), and the
changes of a subscription in "Mon compte"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from baskets.models import Diet
from baskets.services.subscriptions import ADDRESS_FIELDS, SubscriptionAddress
from delivery.forms import PostcodeField

if TYPE_CHECKING:
    from baskets.storefront import ThemeOnSale

# A shopper's URL is echoed back in a message: long enough to recognise, short enough to read.
_ECHO_MAX = 40


def _echo(value: str) -> str:
    return value if len(value) <= _ECHO_MAX else value[: _ECHO_MAX - 1] + "…"


@dataclass(frozen=True)
class BasketFilters:
    theme: str | None = None
    diets: tuple[str, ...] = ()
    persons: int | None = None
    # Why some of the shopper's filters were ignored, in the active language.
    notices: tuple[str, ...] = field(default=())

    @property
    def active(self) -> bool:
        return bool(self.theme or self.diets or self.persons)


class BasketFilterForm(forms.Form):
    """Theme, diets and household size. Bad values never fail the page: each is ignored and
    ``filters().notices`` says so."""

    theme = forms.ChoiceField(
        label=_("Theme"), required=False, widget=forms.Select(attrs={"class": "custom-select"})
    )
    diet = forms.MultipleChoiceField(
        label=_("Diet"),
        required=False,
        choices=Diet.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text=_("Baskets keeping every promise you tick."),
    )
    persons = forms.TypedChoiceField(
        label=_("Household size"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "custom-select"}),
    )

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        themes: Sequence[ThemeOnSale],
        sizes: Sequence[int],
    ):
        # Unknown diets are dropped before validation, so that diet=vegan&diet=xyz still filters
        # on vegan (a MultipleChoiceField would reject both).
        self.unknown_diets: list[str] = []
        if data is not None:
            data = data.copy()
            known = set(Diet.values)
            values = data.getlist("diet")
            self.unknown_diets = [v for v in values if v not in known]
            data.setlist("diet", [v for v in values if v in known])
        super().__init__(data)
        self.fields["theme"].choices = [("", _("All themes"))] + [
            (theme.slug, theme.name) for theme in themes
        ]
        self.fields["persons"].choices = [("", _("All sizes"))] + [
            (str(size), self.size_label(size)) for size in sizes
        ]

    # The filters' options, each (value, label, selected), for the list's template to write out
    # (cheaper than Django's widget templates on the shop's busiest page).
    def theme_options(self) -> list[tuple[str, str, bool]]:
        return self._options("theme", [self["theme"].value()])

    def persons_options(self) -> list[tuple[str, str, bool]]:
        return self._options("persons", [self["persons"].value()])

    def diet_options(self) -> list[tuple[str, str, bool]]:
        return self._options("diet", self["diet"].value() or [])

    def _options(self, name: str, chosen: list) -> list[tuple[str, str, bool]]:
        chosen = {"" if value is None else str(value) for value in chosen}
        return [
            (str(value), label, str(value) in chosen) for value, label in self.fields[name].choices
        ]

    @staticmethod
    def size_label(size: int) -> str:
        return ngettext("%(count)d person", "%(count)d persons", size) % {"count": size}

    def filters(self) -> BasketFilters:
        if not self.is_bound:
            return BasketFilters()
        self.is_valid()
        notices = [
            gettext("“%(value)s” is not a diet we know: that filter is ignored.")
            % {"value": _echo(value)}
            for value in self.unknown_diets
            if value
        ]
        theme = self.cleaned_data.get("theme") or None
        if "theme" in self.errors:
            notices.append(
                gettext("There is no theme “%(value)s” on sale: showing every theme.")
                % {"value": _echo(self.data.get("theme", ""))}
            )
        persons = self.cleaned_data.get("persons")
        if "persons" in self.errors:
            notices.append(
                gettext(
                    "“%(value)s” is not a household size we offer: showing every household size."
                )
                % {"value": _echo(self.data.get("persons", ""))}
            )
        return BasketFilters(
            theme=theme,
            diets=tuple(self.cleaned_data.get("diet") or ()),
            persons=persons,
            notices=tuple(notices),
        )


class HouseholdSizeForm(forms.Form):
    """The household size asked for on a basket page (``?persons=4``)."""

    persons = forms.IntegerField(required=False, min_value=1, max_value=99)

    def requested(self) -> tuple[int | None, str | None]:
        """The size asked for (or ``None``), and the shopper's value, shortened, when it is not
        a household size at all."""
        if not self.is_bound:
            return None, None
        if self.is_valid():
            return self.cleaned_data["persons"], None
        return None, _echo(self.data.get("persons", ""))


# --- Changing a subscription (Mon compte) ------------------------------------------------------


class SubscriptionVariantForm(forms.Form):
    """Another basket or household size on sale, and how many per delivery."""

    variant = forms.TypedChoiceField(
        label=_("Basket and household size"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose a basket and a household size."),
            "invalid_choice": _(
                "This basket is not on sale at the moment: please choose another one."
            ),
        },
    )
    quantity = forms.IntegerField(
        label=_("Baskets per delivery"),
        min_value=1,
        max_value=10,  # BasketSubscription.quantity's validators
        initial=1,
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 1, "max": 10}),
    )

    def __init__(self, data=None, *, variant_ids: Sequence[int], **kwargs):
        super().__init__(data, **kwargs)
        self.fields["variant"].choices = [(str(pk), str(pk)) for pk in variant_ids]


class SubscriptionAddressForm(forms.Form):
    """A new delivery address for a subscription (France: we deliver nowhere else)."""

    first_name = forms.CharField(label=_("First name"), max_length=255, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=255, required=False)
    line1 = forms.CharField(label=_("Address"), max_length=255)
    line2 = forms.CharField(label=_("Address (continued)"), max_length=255, required=False)
    postcode = PostcodeField()
    line4 = forms.CharField(label=_("City"), max_length=255)
    phone_number = forms.CharField(label=_("Phone number"), max_length=32, required=False)
    notes = forms.CharField(
        label=_("Delivery instructions"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            form_field.widget.attrs.setdefault("class", "form-control")

    def address(self) -> SubscriptionAddress:
        data = self.cleaned_data
        return SubscriptionAddress(**{name: data[name].strip() for name in ADDRESS_FIELDS})


class SubscriptionAddressConfirmForm(SubscriptionAddressForm):
    """Step 2: the address again (hidden), with the district and first date the shopper saw."""

    district = forms.IntegerField(widget=forms.HiddenInput)
    first_delivery = forms.DateField(
        widget=forms.DateInput(attrs={"type": "hidden"}, format="%Y-%m-%d"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ADDRESS_FIELDS:
            self.fields[name].widget = forms.HiddenInput()
