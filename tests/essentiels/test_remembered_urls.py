"""{% url %} in every template remembers each address per URL name, arguments, URLconf, script
prefix, language and namespace, and says exactly what Django's tag says."""

from __future__ import annotations

import pytest
from django.template import Context, Template, engines
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import translation

from essentiels.context_processors import search_form
from essentiels.templatetags.remembered_urls import RememberedURLNode


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def test_every_template_gets_the_remembering_tag():
    template = Template("{% url 'baskets:list' %}")
    assert isinstance(template.nodelist[0], RememberedURLNode)


def test_the_same_address_as_reverse_in_each_language_and_script_prefix():
    for language in ("fr", "en"):
        with translation.override(language):
            assert render("{% url 'baskets:list' %}") == reverse("baskets:list")
            assert render(
                "{% url 'baskets:detail' slug=slug pk=pk %}", slug="panier", pk=7
            ) == reverse("baskets:detail", kwargs={"slug": "panier", "pk": 7})
    # the two languages really differ (i18n_patterns), so the language is part of the key
    with translation.override("en"):
        english = render("{% url 'baskets:list' %}")
    assert english != render("{% url 'baskets:list' %}")
    # behind a script prefix (a sub-path deployment)
    plain = reverse("baskets:list")
    set_script_prefix("/boutique/")
    try:
        assert render("{% url 'baskets:list' %}") == "/boutique" + plain
    finally:
        set_script_prefix("/")
    assert render("{% url 'baskets:list' %}") == reverse("baskets:list")


def test_unknown_names_fail_as_before_and_as_var_works():
    with pytest.raises(NoReverseMatch):
        render("{% url 'no-such-page' %}")
    assert render("{% url 'no-such-page' as missing %}[{{ missing }}]") == "[]"
    assert render("{% url 'baskets:list' as home %}<{{ home }}>") == f"<{reverse('baskets:list')}>"


def test_other_arguments_are_reversed_every_time():
    class Slug(str):  # not a plain string: not remembered, still reversed
        pass

    html = Template("{% url 'baskets:detail' slug=slug pk=pk %}").render(
        Context({"slug": Slug("a"), "pk": 3})
    )
    assert html == reverse("baskets:detail", kwargs={"slug": "a", "pk": 3})


def test_the_search_form_is_built_only_when_a_template_uses_it(monkeypatch):
    built = []
    monkeypatch.setattr(
        "essentiels.context_processors.SearchForm", lambda data: built.append(data) or data
    )
    request = RequestFactory().get("/", {"q": "riz"})
    form = search_form(request)["search_form"]
    assert built == []
    assert form["q"] == "riz"
    assert len(built) == 1
