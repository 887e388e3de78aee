"""The basket list's filters (``BasketFilterForm``) read a query as the Django form they replaced
did (a ``ChoiceField``, a ``TypedChoiceField`` coercing to ``int``, a ``MultipleChoiceField``):
the same filters, notices and options for good, bad, repeated and empty values. Pure: no
database."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import pytest
from django import forms
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from baskets.forms import BasketFilterForm, _echo
from baskets.models import Diet
from baskets.storefront import ThemeOnSale

THEMES = [ThemeOnSale("essentiel", "Essentiel"), ThemeOnSale("fromages", "Fromages & vins")]
SIZES = [1, 2, 4]


class FormerBasketFilterForm(forms.Form):
    """``BasketFilterForm`` as a Django form, before it was written without one (filters and
    options only)."""

    theme = forms.ChoiceField(required=False)
    diet = forms.MultipleChoiceField(required=False, choices=Diet.choices)
    persons = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, data, *, themes, sizes):
        self.unknown_diets = []
        if data is not None:
            data = data.copy()
            values = data.getlist("diet")
            self.unknown_diets = [v for v in values if v not in Diet.values]
            data.setlist("diet", [v for v in values if v in Diet.values])
        super().__init__(data)
        self.fields["theme"].choices = [("", _("All themes"))] + [
            (theme.slug, theme.name) for theme in themes
        ]
        self.fields["persons"].choices = [("", _("All sizes"))] + [
            (str(size), BasketFilterForm.size_label(size)) for size in sizes
        ]

    def options(self, name, chosen):
        chosen = {"" if value is None else str(value) for value in chosen}
        return [
            (str(value), str(label), str(value) in chosen)
            for value, label in self.fields[name].choices
        ]

    def read(self):
        """(theme, diets, persons, which fields were refused, options)."""
        options = (
            self.options("theme", [self["theme"].value()]),
            self.options("persons", [self["persons"].value()]),
            self.options("diet", self["diet"].value() or []),
        )
        if not self.is_bound:
            return None, (), None, (), options
        self.is_valid()
        return (
            self.cleaned_data.get("theme") or None,
            tuple(self.cleaned_data.get("diet") or ()),
            self.cleaned_data.get("persons"),
            tuple(sorted(self.errors)),
            options,
        )


QUERIES = [
    None,
    "theme=essentiel",
    "theme=fromages&persons=2&diet=vegetarian",
    "theme=",
    "persons=",
    "diet=",
    "theme=inconnu",
    "theme=Essentiel",
    "theme=essentiel&theme=inconnu",
    "theme=inconnu&theme=essentiel",
    "persons=4",
    "persons=3",
    "persons=02",
    "persons=%202",
    "persons=2.0",
    "persons=-1",
    "persons=abc",
    "persons=99999999999999999999999",
    "persons=%EF%BC%92",  # a full-width 2
    "persons=2&persons=abc",
    "persons=abc&persons=2",
    "diet=vegan&diet=vegan",
    "diet=vegan&diet=xyz&diet=&diet=halal",
    "diet=xyz",
    "diet=" + quote("<b>"),
    "theme=" + quote('<script>"&') + "&persons=" + quote("<i>"),
    "theme=" + "x" * 500,
]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("query", QUERIES)
def test_the_filters_read_a_query_as_the_django_form_did(language, query):
    data = None if query is None else QueryDict(query)
    with translation.override(language):
        # given the filters and the former form, reading the same query
        form = BasketFilterForm(data, themes=THEMES, sizes=SIZES)
        former = FormerBasketFilterForm(data, themes=THEMES, sizes=SIZES)
        theme, diets, persons, refused, options = former.read()
        filters = form.filters()
        # then they keep the same values and ignore the same ones, saying so in that order
        assert (filters.theme, filters.diets, filters.persons) == (theme, diets, persons)
        assert form.unknown_diets == former.unknown_diets
        expected_notices = [
            *(f"“{_echo(value)}”" for value in former.unknown_diets if value),
            *(f"“{_echo(data.get(name))}”" for name in ("theme", "persons") if name in refused),
        ]
        assert len(filters.notices) == len(expected_notices)
        for notice, value in zip(filters.notices, expected_notices, strict=True):
            assert value.strip("“”") in notice
        # and offer the same options, the same ones selected
        assert (
            [(value, str(label), selected) for value, label, selected in form.theme_options()],
            [(value, str(label), selected) for value, label, selected in form.persons_options()],
            [(value, str(label), selected) for value, label, selected in form.diet_options()],
        ) == options


def test_no_query_means_no_filter():
    filters = BasketFilterForm(None, themes=THEMES, sizes=SIZES).filters()
    assert dataclasses.astuple(filters) == (None, (), None, ())
    assert not filters.active
