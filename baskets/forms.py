"""Shopper forms: the basket list filters (a GET form, combinable filters in the URL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from baskets.models import BasketTheme, Diet

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
        themes: Sequence[BasketTheme],
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
