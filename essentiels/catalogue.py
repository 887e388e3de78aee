"""Oscar's catalogue app with database-backed product lists instead of haystack.

Not a fork: the models, migrations and detail view stay Oscar's; only the two list views change.
Stock Oscar 4.2 lists products through haystack, and with the "simple" backend the catalogue and
category pages show no products at all (django-oscar #4366). These views read the database with
Oscar's own ``browsable().base_queryset()`` (select/prefetch of stock records, images, children),
so a page costs a bounded number of queries whatever its length.
"""

from __future__ import annotations

from urllib.parse import unquote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Min, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView
from oscar.apps.catalogue.models import Category, Product


class ProductSortForm(forms.Form):
    SORTS = {
        "title": ("title",),
        "price-asc": ("min_price", "title"),
        "price-desc": ("-min_price", "title"),
        "newest": ("-date_created", "title"),
    }
    sort_by = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("title", _("Title A to Z")),
            ("price-asc", _("Price low to high")),
            ("price-desc", _("Price high to low")),
            ("newest", _("Newest")),
        ],
    )

    def ordering(self) -> tuple[str, ...]:
        if self.is_valid() and self.cleaned_data.get("sort_by"):
            return self.SORTS[self.cleaned_data["sort_by"]]
        return self.SORTS["title"]


def products_browsable(*, categories: QuerySet | None = None) -> QuerySet:
    """Public canonical products, with what a product card needs fetched up front."""
    products = Product.objects.browsable().base_queryset()
    if categories is not None:
        products = products.filter(categories__in=categories).distinct()
    return products.annotate(
        min_price=Coalesce(Min("stockrecords__price"), Min("children__stockrecords__price"))
    )


class CatalogueView(ListView):
    """Browse all products."""

    context_object_name = "products"
    template_name = "oscar/catalogue/browse.html"
    summary = _("All products")

    paginate_by = settings.OSCAR_PRODUCTS_PER_PAGE

    def get(self, request, *args, **kwargs):
        self.form = ProductSortForm(request.GET or None)
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            messages.error(request, _("The given page number was invalid."))
            return redirect(self.first_page_url())

    def first_page_url(self) -> str:
        return self.request.path

    def get_queryset(self):
        return products_browsable().order_by(*self.form.ordering())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["summary"] = self.summary
        context["form"] = self.form if self.form.is_bound else ProductSortForm()
        context["page"] = context["page_obj"]
        return context


class ProductCategoryView(CatalogueView):
    """Browse the products of a category and its descendants."""

    template_name = "oscar/catalogue/category.html"

    def get(self, request, *args, **kwargs):
        self.category = get_object_or_404(Category, pk=self.kwargs["pk"])
        if not (self.category.is_public or request.user.is_staff):
            raise Http404()
        expected_path = self.category.get_absolute_url()
        if unquote(expected_path) != unquote(request.path):
            return HttpResponsePermanentRedirect(expected_path)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        categories = self.category.get_descendants_and_self()
        return products_browsable(categories=categories).order_by(*self.form.ordering())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["category"] = self.category
        context["summary"] = self.category.name
        return context
