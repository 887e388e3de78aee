"""Substitutions: when a component runs short for a delivery date, the orders of that date get
a substitute instead — only one that keeps every promise of every basket holding it.

The substitute must carry at least the diet labels of the component it replaces, and each basket
that holds the component must still pass the rules (``baskets.rules.rules_evaluate``: the €5
ceiling, diets, assortment) with the substitute in its place. Otherwise it is refused, naming
every reason.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from django.db import transaction
from django.db.models import Exists, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.apps.catalogue.models import Product
from oscar.apps.order.models import Line

from baskets.models import BasketVariant, Diet, GroceryDiets
from baskets.product_classes import GROCERY_CLASS_SLUG
from baskets.rules import ComponentFacts, rules_evaluate
from baskets.selectors import component_facts_for_variants, first_stockrecord
from delivery.calendar import local_today
from supply.models import ComponentSubstitution, OrderLineSubstitution


class SubstitutionError(Exception):
    """The substitute would break a promise; ``messages`` names each reason (translated)."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


def _diets(product_id: int) -> frozenset[str]:
    row = GroceryDiets.objects.filter(product_id=product_id).first()
    return row.diets if row is not None else frozenset()


def substitution_problems(*, product_id: int, substitute_id: int) -> list[str]:
    """Why ``substitute_id`` cannot replace ``product_id`` in the baskets holding it (empty when
    it can)."""
    if product_id == substitute_id:
        return [_("A product cannot replace itself.")]
    titles = dict(
        Product.objects.filter(pk__in=[product_id, substitute_id]).values_list("pk", "title")
    )
    problems = []
    missing = _diets(product_id) - _diets(substitute_id)
    for code in sorted(missing):
        problems.append(
            _("“%(substitute)s” is not %(diet)s, unlike “%(product)s”.")
            % {
                "substitute": titles.get(substitute_id, substitute_id),
                "diet": str(Diet(code).label).lower(),
                "product": titles.get(product_id, product_id),
            }
        )
    # The substitute's own facts, as the rules see a component.
    variants = list(
        BasketVariant.objects.filter(components__product_id=product_id).select_related(
            "themed_basket__theme", "themed_basket__product"
        )
    )
    substitute_facts = _substitute_facts(substitute_id=substitute_id)
    facts = component_facts_for_variants(variant_ids=[v.pk for v in variants])
    for variant in variants:
        basket = variant.themed_basket
        components = []
        for fact in facts.get(variant.pk, []):
            if fact.product_id == product_id:
                if substitute_facts is None:
                    continue
                components.append(replace(substitute_facts, quantity=fact.quantity))
            else:
                components.append(fact)
        report = rules_evaluate(
            components=components,
            persons=variant.persons,
            days=basket.days,
            min_components=basket.theme.min_components,
            theme=basket.theme.name,
            diets=basket.diets,
        )
        for message in report.messages():
            problems.append(
                _("In “%(basket)s” (%(persons)s persons): %(problem)s")
                % {"basket": basket.product.title, "persons": variant.persons, "problem": message}
            )
    return problems


def _substitute_facts(*, substitute_id: int) -> ComponentFacts | None:
    """The substitute as the rules see a component (quantity set by the caller)."""
    row = (
        Product.objects.filter(pk=substitute_id)
        .annotate(
            cost=Subquery(first_stockrecord("pk").values("cost_price")[:1]),
            stocked=Exists(first_stockrecord("pk")),
        )
        .values("pk", "title", "is_public", "product_class__slug", "cost", "stocked")
        .first()
    )
    if row is None:
        return None
    return ComponentFacts(
        product_id=row["pk"],
        title=row["title"],
        quantity=1,
        cost_price=row["cost"],
        diets=_diets(substitute_id),
        in_assortment=bool(
            row["is_public"] and row["stocked"] and row["product_class__slug"] == GROCERY_CLASS_SLUG
        ),
    )


@transaction.atomic
def substitution_declare(
    *,
    product_id: int,
    substitute_id: int,
    delivery_date: date,
    reason: str = "",
    by_id: int | None = None,
    now: datetime | None = None,
) -> ComponentSubstitution:
    """Declare (or change) the substitute of a component for one delivery date, then apply it
    to that date's orders. Raises SubstitutionError naming every broken promise."""
    if delivery_date < local_today(now=now):
        raise SubstitutionError([_("This delivery date is in the past.")])
    problems = substitution_problems(product_id=product_id, substitute_id=substitute_id)
    if problems:
        raise SubstitutionError(problems)
    substitution, _created = ComponentSubstitution.objects.update_or_create(
        product_id=product_id,
        delivery_date=delivery_date,
        defaults={"substitute_id": substitute_id, "reason": reason, "created_by_id": by_id},
    )
    # A changed substitute replaces what the orders were told.
    OrderLineSubstitution.objects.filter(substitution=substitution).exclude(
        substitute_title=Product.objects.get(pk=substitute_id).title
    ).delete()
    substitution_apply(substitution_id=substitution.pk)
    return substitution


@transaction.atomic
def substitution_apply(*, substitution_id: int) -> int:
    """Record the substitution on every order line of its date whose basket holds the
    component (idempotent). Returns how many lines it reached."""
    substitution = (
        ComponentSubstitution.objects.select_for_update()
        .select_related("product", "substitute")
        .get(pk=substitution_id)
    )
    lines = Line.objects.filter(
        order__delivery__delivery_date=substitution.delivery_date,
        order__delivery__status="booked",
        product__basket_variant__components__product_id=substitution.product_id,
    ).values_list("pk", "product__basket_variant__components__quantity")
    OrderLineSubstitution.objects.bulk_create(
        [
            OrderLineSubstitution(
                line_id=line_id,
                substitution=substitution,
                original_title=substitution.product.title,
                substitute_title=substitution.substitute.title,
                quantity=quantity,
            )
            for line_id, quantity in lines
        ],
        ignore_conflicts=True,
    )
    substitution.applied_at = timezone.now()
    substitution.save(update_fields=["applied_at"])
    return OrderLineSubstitution.objects.filter(substitution=substitution).count()


def substitutions_apply_upcoming(*, now: datetime | None = None) -> int:
    """Apply every substitution of a coming date again (orders placed since: renewals)."""
    ids = ComponentSubstitution.objects.filter(delivery_date__gte=local_today(now=now)).values_list(
        "pk", flat=True
    )
    return sum(substitution_apply(substitution_id=pk) for pk in ids)
