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
import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS
from django.db.models import F, QuerySet, Subquery
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language, ngettext
from oscar.apps.catalogue.models import (
    Category,
    Product,
    ProductClass,
)

from baskets.models import (
    BasketComponent,
    BasketVariant,
    Diet,
    RuleStatus,
)
from baskets.selectors import first_stockrecord
from essentiels.oscar_forks.partner.models import StockRecord
from essentiels.prepared import PreparedQuery

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


@functools.lru_cache(maxsize=2 ** len(_DIET_CHOICES))
def _promised_diet_badges(promises: tuple[bool, ...]) -> tuple[DietBadge, ...]:
    """``_diet_badges`` of a basket's flags, one per diet in ``Diet``'s order, remembered per
    combination (a list page asked for 24 the same few): the badges' labels stay lazy."""
    return _diet_badges(
        {code for (code, _label), promised in zip(_DIET_CHOICES, promises, strict=True) if promised}
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


def basket_urls() -> Callable[[int, str], str]:
    """``basket_url`` for many baskets, as ``f(product_id, slug)``: what it reads (the language,
    script prefix and URLconf: ~4 µs) read once, for a list of cards."""
    language, prefix, urlconf = get_language(), get_script_prefix(), get_urlconf()

    def url(product_id: int, slug: str) -> str:
        return _basket_url(product_id, slug or "panier", language, prefix, urlconf)

    return url


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


def themes_and_sizes_on_sale(rows: list[SaleRow]) -> tuple[list[ThemeOnSale], list[int]]:
    """The themes with at least one basket on sale, in the staff's order, and the household
    sizes at least one basket is on sale for, smallest first: the list's filters, from its
    ``rows_for_sale()``."""
    themes: dict[str, ThemeOnSale] = {}
    for row in rows:  # in the themes' order
        if row.theme_slug not in themes:
            themes[row.theme_slug] = ThemeOnSale(slug=row.theme_slug, name=row.theme_name)
    return list(themes.values()), sorted({row.persons for row in rows})


@dataclass(frozen=True)
class MenuCategory:
    name: str
    url: str


def _menu_categories_query() -> QuerySet:
    return (
        Category.objects.browsable()
        .filter(depth=1, exclude_from_menu=False)
        .order_by("path")
        .values_list("pk", "name", "slug")
    )


_MENU_CATEGORIES = PreparedQuery("storefront_menu", _menu_categories_query)


def menu_categories() -> list[MenuCategory]:
    """The top-level aisles of the navigation bar, as Oscar's ``category_tree depth=1`` lists
    them (browsable, not excluded from the menu) and links them (``Category.get_absolute_url``:
    a top-level category's full slug is its slug), in one query instead of its two."""
    return [
        MenuCategory(
            name=name, url=reverse("catalogue:category", kwargs={"category_slug": slug, "pk": pk})
        )
        for pk, name, slug in _MENU_CATEGORIES.rows()
    ]


_DIET_COLUMNS = {code: f"themed_basket__{code}" for code in Diet.values}
_DIET_CODES = frozenset(_DIET_COLUMNS)


class SaleRow(NamedTuple):
    """A household size on sale, with its basket, theme and price: a row of ``rows_for_sale()``.
    A tuple rather than a dict: 180 rows are built in 30 µs instead of 120 (its fields are the
    columns of ``_rows_for_sale_query``, in their order)."""

    variant_id: int
    product_id: int  # the variant's product
    persons: int
    price: Decimal
    basket_id: int  # its ThemedBasket
    basket_product_id: int  # the basket's parent product
    title: str
    slug: str
    theme_name: str
    theme_slug: str
    days: int
    # The basket's promises, one flag per diet, in Diet's order (_DIET_COLUMNS').
    vegetarian: bool
    vegan: bool
    halal: bool
    no_pork: bool
    gluten_free: bool
    lactose_free: bool


_FIRST_DIET = SaleRow._fields.index(Diet.values[0])
_SALE_VARIANT, _SALE_PRICE = SaleRow._fields.index("variant_id"), SaleRow._fields.index("price")
_BASKET_ID = attrgetter("basket_id")


def _rows_for_sale_query() -> QuerySet:
    # Each variant with each of its stock records (a join: the first one's price is Oscar's,
    # UseFirstStockRecord), which PostgreSQL reads in one pass where a price subquery per
    # variant cost it a scan each. The columns are SaleRow's fields, in their order.
    return (
        BasketVariant.objects.filter(
            rule_status=RuleStatus.VALID,
            product__is_public=True,
            themed_basket__product__is_public=True,
        )
        .annotate(price=F("product__stockrecords__price"), record=F("product__stockrecords__id"))
        .order_by(
            "themed_basket__theme__position",
            "themed_basket__theme__name",
            "themed_basket__product__title",
            "themed_basket_id",
            "persons",
            "pk",
            "record",
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


_ROWS_FOR_SALE = PreparedQuery("storefront_rows_for_sale", _rows_for_sale_query)


def rows_for_sale() -> list[SaleRow]:
    """Every household size on sale of every basket on sale, with its basket, theme and price,
    by theme, then title (a basket's rows together), then size (one query): what the list
    shows, its filters included."""
    rows = _priced_variants(_ROWS_FOR_SALE.rows(), variant=_SALE_VARIANT, price=_SALE_PRICE)
    return list(map(SaleRow._make, rows))


def _priced_variants(rows: list, *, variant, price):
    """Of rows of variants joined to their stock records (a variant's rows together, by stock
    record), each variant's first one — Oscar's UseFirstStockRecord — when it has a price.
    ``variant`` and ``price`` index the rows (tuples or dicts)."""
    previous = None
    for row in rows:
        if row[variant] == previous:  # a later stock record of the same variant
            continue
        previous = row[variant]
        if row[price] is not None:  # unpriced: not for sale
            yield row


def _offers(
    sizes: Iterable[tuple[int, int, int, Decimal]], *, days: int
) -> tuple[VariantOffer, ...]:
    """A basket's offers from its sizes' (variant id, product id, persons, price)."""
    return tuple(
        VariantOffer(
            variant_id=variant_id, product_id=product_id, persons=persons, days=days, price=price
        )
        for variant_id, product_id, persons, price in sizes
    )


def baskets_for_sale(
    *,
    theme: str | None = None,
    diets: Collection[str] = (),
    persons: int | None = None,
    rows: list[SaleRow] | None = None,
) -> Sequence[BasketCard]:
    """Baskets on sale, by theme then title: from ``rows`` (``rows_for_sale()``, which the list
    also takes its filters from) when given, else in one query.

    ``theme`` is a theme slug; a basket matches ``diets`` when it promises every one of them;
    with ``persons`` only baskets sold for that household size are listed. Each card is built
    when it is read: a list page shows 24, whatever the number that match.
    """
    unknown = set(diets) - _DIET_CODES
    if unknown:
        raise ValueError(f"Unknown diets: {sorted(unknown)}")
    if rows is None:
        rows = rows_for_sale()
    groups: list[list[SaleRow]] = []
    # Theme and diets are the basket's: read on its first row.
    for _, group in itertools.groupby(rows, key=_BASKET_ID):
        basket_rows = list(group)
        first = basket_rows[0]
        if theme and first.theme_slug != theme:
            continue
        if diets and not all(getattr(first, code) for code in diets):
            continue
        if persons is not None and not any(row.persons == persons for row in basket_rows):
            continue
        groups.append(basket_rows)
    return _Cards(groups, persons=persons)


class _Cards(Sequence):
    """The cards of groups of rows (one group per basket), each built when read."""

    def __init__(self, groups: list[list[SaleRow]], *, persons: int | None) -> None:
        self._groups = groups
        self._persons = persons

    def __len__(self) -> int:
        return len(self._groups)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._card(basket_rows) for basket_rows in self._groups[index]]
        return self._card(self._groups[index])

    def _card(self, basket_rows: list[SaleRow]) -> BasketCard:
        first = basket_rows[0]
        days = first.days
        return BasketCard(
            product_id=first.basket_product_id,
            title=first.title,
            slug=first.slug,
            theme_name=first.theme_name,
            theme_slug=first.theme_slug,
            days=days,
            diets=_promised_diet_badges(first[_FIRST_DIET:]),
            offers=_offers(
                [(row.variant_id, row.product_id, row.persons, row.price) for row in basket_rows],
                days=days,
            ),
            persons=self._persons,
        )


def _basket_facts(row: dict) -> dict:
    """A basket's own fields, from the row of any of its household sizes (its page)."""
    return {
        "title": row["themed_basket__product__title"],
        "slug": row["themed_basket__product__slug"],
        "theme_name": row["themed_basket__theme__name"],
        "theme_slug": row["themed_basket__theme__slug"],
        "days": row["themed_basket__days"],
        "diets": _promised_diet_badges(tuple(row[column] for column in _DIET_COLUMNS.values())),
    }


@dataclass(frozen=True)
class ComponentLine:
    product_id: int
    title: str
    brand: str
    pack_size: str
    quantity: int
    # The product's first category by name (its aisle), to group the composition table.
    aisle: str


@dataclass(frozen=True)
class BasketPage:
    """A basket on sale, one of its household sizes selected, with that size's composition."""

    product_id: int  # the basket's parent product
    title: str
    slug: str
    description: str  # staff-written HTML
    theme_name: str
    theme_slug: str
    days: int
    diets: tuple[DietBadge, ...]
    offers: tuple[VariantOffer, ...]
    selected: VariantOffer
    # The selected variant's Oscar product (with its parent and the parent's class) and its
    # first stock record: what Oscar's strategy reads to decide availability, built from the
    # page's rows rather than fetched again.
    selected_product: Product
    selected_stockrecord: StockRecord
    components: tuple[ComponentLine, ...]
    # The shopper asked for a household size this basket is not sold for.
    requested_persons_missing: bool

    @property
    def url(self) -> str:
        return basket_url(product_id=self.product_id, slug=self.slug)

    @property
    def component_count(self) -> int:
        return len(self.components)


def default_persons(sizes: Collection[int]) -> int:
    """Two persons when sold for two, else the smallest size."""
    return DEFAULT_PERSONS if DEFAULT_PERSONS in sizes else min(sizes)


# The selected variant's product, its parent and the parent's class, and its stock record: the
# fields Oscar's strategy reads (EssentielsStrategy: public, product class, stock, price).
_PRODUCT_FIELDS = {
    "id": "product_id",
    "structure": "product__structure",
    "is_public": "product__is_public",
    "parent_id": "product__parent_id",
    "product_class_id": "product__product_class_id",
}
_PARENT_FIELDS = {
    "id": "product__parent_id",
    "structure": "product__parent__structure",
    "product_class_id": "product__parent__product_class_id",
}
_CLASS_FIELDS = {
    "id": "product__parent__product_class_id",
    "slug": "product__parent__product_class__slug",
    "track_stock": "product__parent__product_class__track_stock",
}
_STOCKRECORD_FIELDS = {
    "id": "product__stockrecords__id",
    "product_id": "product_id",
    "partner_id": "product__stockrecords__partner_id",
    "price": "price",
    "price_currency": "product__stockrecords__price_currency",
    "num_in_stock": "product__stockrecords__num_in_stock",
    "num_allocated": "product__stockrecords__num_allocated",
}


# Each column once (the product's id is also its stock record's product_id, its parent's id…).
_STRATEGY_COLUMNS = tuple(
    dict.fromkeys(
        column
        for fields in (_PRODUCT_FIELDS, _PARENT_FIELDS, _CLASS_FIELDS, _STOCKRECORD_FIELDS)
        for column in fields.values()
    )
)


def _basket_variants_query(product_id: int) -> QuerySet:
    return (
        BasketVariant.objects.filter(
            rule_status=RuleStatus.VALID,
            product__is_public=True,
            themed_basket__product__is_public=True,
            themed_basket__product_id=product_id,
        )
        .annotate(price=F("product__stockrecords__price"))
        .order_by("persons", "pk", "product__stockrecords__id")
        .values(
            "pk",
            "persons",
            "themed_basket__product__title",
            "themed_basket__product__slug",
            "themed_basket__product__description",
            "themed_basket__theme__name",
            "themed_basket__theme__slug",
            "themed_basket__days",
            *_DIET_COLUMNS.values(),
            *_STRATEGY_COLUMNS,
        )
    )


def _basket_components_query(variant_id: int) -> QuerySet:
    # Joins rather than a subquery per component and value (120 for 40 components): a row per
    # component, attribute value and category, by aisle (category name) then title.
    return (
        BasketComponent.objects.filter(variant_id=variant_id)
        .annotate(
            attribute=F("product__attribute_values__attribute__code"),
            value=F("product__attribute_values__value_text"),
            aisle=F("product__categories__name"),
        )
        .order_by("aisle", "product__title", "pk")
        .values_list(
            "pk", "product_id", "product__title", "quantity", "attribute", "value", "aisle"
        )
    )


def _component_lines(rows: list[tuple]) -> tuple[ComponentLine, ...]:
    """A composition's lines from ``_basket_components_query``'s rows: each component once,
    under its first aisle (by name), with its pack size and brand."""
    lines: dict[int, dict] = {}
    for pk, product_id, title, quantity, attribute, value, aisle in rows:
        line = lines.get(pk)
        if line is None:
            line = lines[pk] = {
                "product_id": product_id,
                "title": title,
                "quantity": quantity,
                "aisle": aisle or "",
                "pack_size": "",
                "brand": "",
            }
        elif (aisle or "") != line["aisle"]:  # the same values again, under a later aisle
            continue
        if attribute in {"pack_size", "brand"} and not line[attribute]:
            line[attribute] = value or ""
    return tuple(ComponentLine(**line) for line in lines.values())


_BASKET_VARIANTS = PreparedQuery(
    "storefront_basket_variants", _basket_variants_query, product_id=Product._meta.pk
)
_BASKET_COMPONENTS = PreparedQuery(
    "storefront_basket_components", _basket_components_query, variant_id=BasketVariant._meta.pk
)


def _instance(model, row: dict, fields: dict[str, str]):
    """A model instance from a row's columns (``Model.from_db``: the others stay deferred)."""
    return model.from_db(
        DEFAULT_DB_ALIAS, list(fields), [row[column] for column in fields.values()]
    )


def _oscar_product(row: dict) -> tuple[Product, StockRecord]:
    product = _instance(Product, row, _PRODUCT_FIELDS)
    if row["product__parent_id"] is not None:
        parent = _instance(Product, row, _PARENT_FIELDS)
        if row["product__parent__product_class_id"] is not None:
            parent.product_class = _instance(ProductClass, row, _CLASS_FIELDS)
        product.parent = parent
    return product, _instance(StockRecord, row, _STOCKRECORD_FIELDS)


def basket_page(*, product_id: int, persons: int | None = None) -> BasketPage | None:
    """The page of the basket whose parent product is ``product_id``, showing the ``persons``
    size (or the default one), in two queries. ``None`` when the basket is not on sale."""
    by_persons = {
        row["persons"]: row
        for row in _priced_variants(
            _BASKET_VARIANTS.dicts(product_id=product_id), variant="pk", price="price"
        )
    }
    if not by_persons:
        return None
    first = next(iter(by_persons.values()))
    offers = _offers(
        [
            (row["pk"], row["product_id"], row["persons"], row["price"])
            for row in by_persons.values()
        ],
        days=first["themed_basket__days"],
    )
    missing = persons is not None and persons not in by_persons
    chosen = by_persons[persons if persons in by_persons else default_persons(list(by_persons))]
    components = _component_lines(_BASKET_COMPONENTS.rows(variant_id=chosen["pk"]))
    product, stockrecord = _oscar_product(chosen)
    return BasketPage(
        product_id=product_id,
        **_basket_facts(first),
        description=first["themed_basket__product__description"],
        offers=offers,
        selected=next(o for o in offers if o.variant_id == chosen["pk"]),
        selected_product=product,
        selected_stockrecord=stockrecord,
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
