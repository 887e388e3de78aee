"""Reads for the shopper's pages: the basket list and a basket's page.

Each selector costs a fixed number of SQL queries whatever the number of baskets, household sizes
and components (measured by ``bench/bench_baskets.py`` and asserted in the tests): everything a
page shows is selected, joined or annotated up front, then shaped into plain dataclasses.

A basket is *on sale* when its parent product is public and it has at least one *sellable*
variant: a public child product whose composition passed the rules and that has a price. Oscar's
strategy (``essentiels.oscar_forks.partner.strategy``) still has the last word when a variant is
added to the cart.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language, ngettext
from oscar.apps.catalogue.models import (
    Category,
    Product,
    ProductAttributeValue,
    ProductCategory,
)

from baskets.models import (
    BasketComponent,
    BasketVariant,
    Diet,
    RuleStatus,
    ThemedBasket,
)
from baskets.selectors import first_stockrecord
from essentiels.oscar_forks.partner.models import StockRecord

CENT = Decimal("0.01")
# Shown first on a basket page when the shopper did not choose: the most common French household.
DEFAULT_PERSONS = 2


def price_per_person_day(*, price: Decimal, persons: int, days: int) -> Decimal:
    """Selling price ÷ (persons × days), rounded half-up to the cent."""
    return (price / (persons * days)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class VariantOffer:
    """One household size on sale, at its shelf price (VAT included)."""

    variant_id: int
    product_id: int
    persons: int
    days: int
    price: Decimal

    @property
    def price_per_person_day(self) -> Decimal:
        return price_per_person_day(price=self.price, persons=self.persons, days=self.days)


@dataclass(frozen=True)
class DietBadge:
    code: str
    label: str


# Read once: ``Diet.choices`` builds its list (and a label per member) on every access, which
# cost a list page of 24 baskets about 2 ms. The labels stay lazy: translated when shown.
_DIET_CHOICES = tuple(Diet.choices)


def _diet_badges(codes: Collection[str]) -> tuple[DietBadge, ...]:
    return tuple(
        DietBadge(code=code, label=label) for code, label in _DIET_CHOICES if code in codes
    )


@dataclass(frozen=True)
class BasketCard:
    """A basket in the list: what it promises, its sizes and its prices."""

    product_id: int
    title: str
    slug: str
    theme_name: str
    theme_slug: str
    days: int
    diets: tuple[DietBadge, ...]
    offers: tuple[VariantOffer, ...]  # by household size
    # The household size the shopper filtered on: the card then shows that size's prices.
    persons: int | None = None

    @property
    def sizes(self) -> list[int]:
        return [offer.persons for offer in self.offers]

    @property
    def sizes_label(self) -> str:
        """ "For 1, 2, 4 persons", in the active language."""
        sizes = ", ".join(str(size) for size in self.sizes)
        return ngettext("For %(sizes)s person", "For %(sizes)s persons", max(self.sizes)) % {
            "sizes": sizes
        }

    @property
    def chosen_offer(self) -> VariantOffer | None:
        return next((o for o in self.offers if o.persons == self.persons), None)

    @property
    def price_from(self) -> Decimal:
        return min(offer.price for offer in self.offers)

    @property
    def price_per_person_day_from(self) -> Decimal:
        return min(offer.price_per_person_day for offer in self.offers)

    @property
    def url(self) -> str:
        url = basket_url(product_id=self.product_id, slug=self.slug)
        return f"{url}?persons={self.persons}" if self.chosen_offer else url


def basket_url(*, product_id: int, slug: str) -> str:
    return _basket_url(
        product_id, slug or "panier", get_language(), get_script_prefix(), get_urlconf()
    )


@functools.lru_cache(maxsize=8192)
def _basket_url(product_id: int, slug: str, _language, _prefix, _urlconf) -> str:
    """Remembered per language, script prefix and URLconf (what ``reverse`` reads): a list page
    links each of its baskets twice."""
    return reverse("baskets:detail", kwargs={"slug": slug, "pk": product_id})


def sellable_variants() -> QuerySet[BasketVariant]:
    """Variants a shopper may buy: public, valid under the rules, priced, of a public basket."""
    return _variants_with_price().filter(price__isnull=False)


def _variants_with_price() -> QuerySet[BasketVariant]:
    """Public variants valid under the rules, of a public basket, with their price (``None``:
    not priced, not for sale)."""
    return BasketVariant.objects.filter(
        rule_status=RuleStatus.VALID,
        product__is_public=True,
        themed_basket__product__is_public=True,
    ).annotate(price=Subquery(first_stockrecord().values("price")[:1]))


@dataclass(frozen=True)
class ThemeOnSale:
    slug: str
    name: str


def themes_and_sizes_on_sale(rows: list[dict]) -> tuple[list[ThemeOnSale], list[int]]:
    """The themes with at least one basket on sale, in the staff's order, and the household
    sizes at least one basket is on sale for, smallest first: the list's filters, from its
    ``rows_for_sale()``."""
    themes: dict[str, ThemeOnSale] = {}
    sizes: set[int] = set()
    for row in rows:  # in the themes' order
        slug = row["themed_basket__theme__slug"]
        if slug not in themes:
            themes[slug] = ThemeOnSale(slug=slug, name=row["themed_basket__theme__name"])
        sizes.add(row["persons"])
    return list(themes.values()), sorted(sizes)


@dataclass(frozen=True)
class MenuCategory:
    name: str
    url: str


def menu_categories() -> list[MenuCategory]:
    """The top-level aisles of the navigation bar, as Oscar's ``category_tree depth=1`` lists
    them (browsable, not excluded from the menu) and links them (``Category.get_absolute_url``:
    a top-level category's full slug is its slug), in one query instead of its two."""
    rows = (
        Category.objects.browsable()
        .filter(depth=1, exclude_from_menu=False)
        .order_by("path")
        .values_list("pk", "name", "slug")
    )
    return [
        MenuCategory(
            name=name, url=reverse("catalogue:category", kwargs={"category_slug": slug, "pk": pk})
        )
        for pk, name, slug in rows
    ]


_DIET_COLUMNS = {code: f"themed_basket__{code}" for code in Diet.values}


def rows_for_sale() -> list[dict]:
    """Every household size on sale of every basket on sale, with its basket, theme and price,
    by theme, then title, then size (one query): what the list shows, its filters included."""
    # The unpriced are left out here rather than in SQL, which would look each price up twice.
    rows = (
        _variants_with_price()
        .order_by(
            "themed_basket__theme__position",
            "themed_basket__theme__name",
            "themed_basket__product__title",
            "themed_basket_id",
            "persons",
        )
        .values(
            "pk",
            "product_id",
            "persons",
            "price",
            "themed_basket_id",
            "themed_basket__product_id",
            "themed_basket__product__title",
            "themed_basket__product__slug",
            "themed_basket__theme__name",
            "themed_basket__theme__slug",
            "themed_basket__days",
            *_DIET_COLUMNS.values(),
        )
    )
    return [row for row in rows if row["price"] is not None]


def baskets_for_sale(
    *,
    theme: str | None = None,
    diets: Collection[str] = (),
    persons: int | None = None,
    rows: list[dict] | None = None,
) -> list[BasketCard]:
    """Baskets on sale, by theme then title: from ``rows`` (``rows_for_sale()``, which the list
    also takes its filters from) when given, else in one query.

    ``theme`` is a theme slug; a basket matches ``diets`` when it promises every one of them;
    with ``persons`` only baskets sold for that household size are listed.
    """
    unknown = set(diets) - set(Diet.values)
    if unknown:
        raise ValueError(f"Unknown diets: {sorted(unknown)}")
    columns = [_DIET_COLUMNS[code] for code in diets]
    if rows is None:
        rows = rows_for_sale()
    grouped: dict[int, list[dict]] = {}
    for row in rows:
        if theme and row["themed_basket__theme__slug"] != theme:
            continue
        if not all(row[column] for column in columns):
            continue
        grouped.setdefault(row["themed_basket_id"], []).append(row)
    if persons is not None:
        grouped = {
            basket: basket_rows
            for basket, basket_rows in grouped.items()
            if any(row["persons"] == persons for row in basket_rows)
        }
    cards = []
    for basket_rows in grouped.values():
        first = basket_rows[0]
        days = first["themed_basket__days"]
        cards.append(
            BasketCard(
                product_id=first["themed_basket__product_id"],
                title=first["themed_basket__product__title"],
                slug=first["themed_basket__product__slug"],
                theme_name=first["themed_basket__theme__name"],
                theme_slug=first["themed_basket__theme__slug"],
                days=days,
                diets=_diet_badges([code for code, col in _DIET_COLUMNS.items() if first[col]]),
                offers=tuple(
                    VariantOffer(
                        variant_id=row["pk"],
                        product_id=row["product_id"],
                        persons=row["persons"],
                        days=days,
                        price=row["price"],
                    )
                    for row in basket_rows
                ),
                persons=persons,
            )
        )
    return cards


@dataclass(frozen=True)
class ComponentLine:
    product_id: int
    title: str
    brand: str
    pack_size: str
    quantity: int
    # The product's first category (its aisle), to group the composition table.
    aisle: str


@dataclass(frozen=True)
class BasketPage:
    """A basket on sale, one of its household sizes selected, with that size's composition."""

    basket: ThemedBasket  # with its parent product and theme
    offers: tuple[VariantOffer, ...]
    selected: VariantOffer
    # The selected variant's Oscar product, its stock records and parent's class fetched, ready
    # for Oscar's strategy (availability) without another query.
    selected_product: Product
    components: tuple[ComponentLine, ...]
    # The shopper asked for a household size this basket is not sold for.
    requested_persons_missing: bool

    @property
    def title(self) -> str:
        return self.basket.product.title

    @property
    def diets(self) -> tuple[DietBadge, ...]:
        return _diet_badges(self.basket.diets)

    @property
    def url(self) -> str:
        return basket_url(product_id=self.basket.product_id, slug=self.basket.product.slug)

    @property
    def component_count(self) -> int:
        return len(self.components)


def _attribute_value(code: str) -> Subquery:
    return Subquery(
        ProductAttributeValue.objects.filter(
            product=OuterRef("product"), attribute__code=code
        ).values("value_text")[:1]
    )


def default_persons(sizes: Collection[int]) -> int:
    """Two persons when sold for two, else the smallest size."""
    return DEFAULT_PERSONS if DEFAULT_PERSONS in sizes else min(sizes)


def basket_page(*, product_id: int, persons: int | None = None) -> BasketPage | None:
    """The page of the basket whose parent product is ``product_id``, showing the ``persons``
    size (or the default one), in three queries. ``None`` when the basket is not on sale."""
    variants = list(
        sellable_variants()
        .filter(themed_basket__product_id=product_id)
        .select_related(
            "themed_basket__product",
            "themed_basket__theme",
            "product__parent__product_class",
            "product__product_class",
        )
        .prefetch_related(
            Prefetch("product__stockrecords", queryset=StockRecord.objects.order_by("pk"))
        )
        .order_by("persons")
    )
    if not variants:
        return None
    basket = variants[0].themed_basket
    offers = tuple(
        VariantOffer(
            variant_id=v.pk,
            product_id=v.product_id,
            persons=v.persons,
            days=basket.days,
            price=v.price,
        )
        for v in variants
    )
    by_persons = {v.persons: v for v in variants}
    missing = persons is not None and persons not in by_persons
    chosen = by_persons[persons if persons in by_persons else default_persons(list(by_persons))]
    aisle = Subquery(
        ProductCategory.objects.filter(product=OuterRef("product"))
        .order_by("category__path")
        .values("category__name")[:1]
    )
    rows = (
        BasketComponent.objects.filter(variant=chosen)
        .annotate(
            pack_size=_attribute_value("pack_size"),
            brand=_attribute_value("brand"),
            aisle=aisle,
        )
        .order_by("aisle", "product__title", "pk")
        .values("product_id", "product__title", "quantity", "pack_size", "brand", "aisle")
    )
    components = tuple(
        ComponentLine(
            product_id=row["product_id"],
            title=row["product__title"],
            brand=row["brand"] or "",
            pack_size=row["pack_size"] or "",
            quantity=row["quantity"],
            aisle=row["aisle"] or "",
        )
        for row in rows
    )
    return BasketPage(
        basket=basket,
        offers=offers,
        selected=next(o for o in offers if o.variant_id == chosen.pk),
        selected_product=chosen.product,
        components=components,
        requested_persons_missing=missing,
    )


def basket_supply_status(*, request, page: BasketPage):
    """[Supply] Whether the selected size can be supplied for the shopper's next delivery (their
    checked district's, else the first any district can get), and for a new subscription: see
    ``supply.selectors.variant_supply_status`` (three queries, five with a district)."""
    from delivery.models import District
    from delivery.shipping import SESSION_DISTRICT_KEY
    from supply.selectors import variant_supply_status

    district_id = request.session.get(SESSION_DISTRICT_KEY)
    district = (
        District.objects.open().filter(pk=district_id, weekday__isnull=False).first()
        if district_id
        else None
    )
    return variant_supply_status(
        variant_id=page.selected.variant_id,
        components=[(line.product_id, line.quantity, line.title) for line in page.components],
        district=district,
    )
