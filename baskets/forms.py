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


# Read once: Diet.choices builds its list (and a label per member) on every access.
_DIET_CHOICES = tuple(Diet.choices)
_DIET_CODES = frozenset(Diet.values)


class BasketFilterForm:
    """Theme, diets and household size, from the basket list's query string. Bad values never
    fail the page: each is ignored and ``filters().notices`` says so.

    Not a Django form, on the shop's busiest page: building and validating one cost ~0.1 ms
    (its fields copied, their choices normalised), this a tenth. It reads the query as a
    ``ChoiceField`` (theme), a ``TypedChoiceField`` coercing to ``int`` (household size) and a
    ``MultipleChoiceField`` (diets) would; the list's template writes its fields out.
    """

    theme_label = _("Theme")
    persons_label = _("Household size")
    diet_label = _("Diet")
    diet_help_text = _("Baskets keeping every promise you tick.")

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        themes: Sequence[ThemeOnSale],
        sizes: Sequence[int],
    ):
        self.is_bound = data is not None
        self._themes = themes
        self._sizes = sizes
        # The shopper's values (a parameter given twice: its last value, as a form reads it).
        self._theme = data.get("theme") if data is not None else None
        self._persons = data.get("persons") if data is not None else None
        # Unknown diets are dropped, so that diet=vegan&diet=xyz still filters on vegan.
        values = data.getlist("diet") if data is not None else []
        self._diets = [v for v in values if v in _DIET_CODES]
        self.unknown_diets: list[str] = [v for v in values if v not in _DIET_CODES]

    # The filters' options, each (value, label, selected), for the list's template to write out
    # (cheaper than Django's widget templates on the shop's busiest page).
    def theme_options(self) -> list[tuple[str, str, bool]]:
        choices = [("", _("All themes")), *((theme.slug, theme.name) for theme in self._themes)]
        return _options(choices, [self._theme])

    def persons_options(self) -> list[tuple[str, str, bool]]:
        choices = [("", _("All sizes")), *((str(n), self.size_label(n)) for n in self._sizes)]
        return _options(choices, [self._persons])

    def diet_options(self) -> list[tuple[str, str, bool]]:
        return _options(_DIET_CHOICES, self._diets)

    @staticmethod
    def size_label(size: int) -> str:
        return ngettext("%(count)d person", "%(count)d persons", size) % {"count": size}

    def filters(self) -> BasketFilters:
        if not self.is_bound:
            return BasketFilters()
        notices = [
            gettext("“%(value)s” is not a diet we know: that filter is ignored.")
            % {"value": _echo(value)}
            for value in self.unknown_diets
            if value
        ]
        theme = None
        if self._theme:  # none or empty: every theme
            if self._theme in {on_sale.slug for on_sale in self._themes}:
                theme = self._theme
            else:
                message = gettext("There is no theme “%(value)s” on sale: showing every theme.")
                notices.append(message % {"value": _echo(self._theme)})
        persons = None
        if self._persons:  # none or empty: every household size
            if self._persons in {str(size) for size in self._sizes}:
                persons = int(self._persons)
            else:
                message = gettext(
                    "“%(value)s” is not a household size we offer: showing every household size."
                )
                notices.append(message % {"value": _echo(self._persons)})
        return BasketFilters(
            theme=theme, diets=tuple(self._diets), persons=persons, notices=tuple(notices)
        )


def _options(choices: Sequence[tuple], chosen: Sequence[str | None]) -> list[tuple[str, str, bool]]:
    chosen_values = {"" if value is None else str(value) for value in chosen}
    return [(str(value), label, str(value) in chosen_values) for value, label in choices]


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
