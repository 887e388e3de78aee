"""Shopper pages: the basket list (the shop's home) and a basket's page. Thin: the reads are in
``baskets.storefront``, the filters in ``baskets.forms``."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, QueryDict
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET

from baskets.forms import BasketFilterForm, HouseholdSizeForm
from baskets.page_cache import LIST, basket_scope, storefront_cached, storefront_render
from baskets.storefront import (
    basket_page,
    basket_supply_status,
    baskets_for_sale,
    rows_for_sale,
    themes_and_sizes_on_sale,
)

BASKETS_PER_PAGE = settings.OSCAR_PRODUCTS_PER_PAGE


# Anonymous shoppers get both pages from the cache (baskets.page_cache); ``query`` holds only the
# parameters a page reads, so that it shows (and links to) nothing else of the URL. Both pages
# only read: no transaction around them (ATOMIC_REQUESTS would cost a BEGIN and a COMMIT each).
@transaction.non_atomic_requests
@require_GET
@storefront_cached(
    scope=lambda: LIST,
    params=("theme", "diet", "persons", "page"),
    seconds="STOREFRONT_LIST_CACHE_SECONDS",
)
def basket_list(request: HttpRequest, *, query: QueryDict) -> HttpResponse:
    rows = rows_for_sale()  # the list's one query: its filters and its cards
    themes, sizes = themes_and_sizes_on_sale(rows)
    form = BasketFilterForm(query or None, themes=themes, sizes=sizes)
    filters = form.filters()
    cards = baskets_for_sale(
        theme=filters.theme, diets=filters.diets, persons=filters.persons, rows=rows
    )
    # get_page: a bad or out-of-range page number shows the first or the last page.
    page = Paginator(cards, BASKETS_PER_PAGE).get_page(query.get("page"))
    return storefront_render(
        request,
        "baskets/basket_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "cards": page.object_list,
            "query": query,
        },
    )


@transaction.non_atomic_requests
@require_GET
@storefront_cached(
    scope=lambda slug, pk: basket_scope(pk),
    params=("persons",),
    seconds="STOREFRONT_BASKET_PAGE_CACHE_SECONDS",
    district_matters=True,
)
def basket_detail(request: HttpRequest, slug: str, pk: int, *, query: QueryDict) -> HttpResponse:
    persons, bad_value = HouseholdSizeForm(query or None).requested()
    page = basket_page(product_id=pk, persons=persons)
    if page is None:
        raise Http404(gettext("This basket is not on sale."))
    if request.path != page.url:  # an old or mistyped slug: one address per basket
        kept = f"?{request.GET.urlencode()}" if request.GET else ""
        return HttpResponsePermanentRedirect(page.url + kept)
    notices = []
    if bad_value is not None:
        notices.append(
            ngettext(
                "“%(value)s” is not a household size: showing the basket for %(count)d person.",
                "“%(value)s” is not a household size: showing the basket for %(count)d persons.",
                page.selected.persons,
            )
            % {"value": bad_value, "count": page.selected.persons}
        )
    if page.requested_persons_missing:
        notices.append(
            ngettext(
                "This basket is not sold for a household of %(asked)s: showing it for %(count)d "
                "person.",
                "This basket is not sold for a household of %(asked)s: showing it for %(count)d "
                "persons.",
                page.selected.persons,
            )
            % {"asked": persons, "count": page.selected.persons}
        )
    # Oscar's strategy decides whether the selected size can go in the cart, as at checkout.
    purchase_info = request.strategy.fetch_for_product(
        page.selected_product, page.selected_stockrecord
    )
    return storefront_render(
        request,
        "baskets/basket_detail.html",
        {
            "page": page,
            "notices": notices,
            "purchase_info": purchase_info,
            "supply": basket_supply_status(request=request, page=page),
        },
    )
