"""Applying the basket rules to stored baskets: re-check, withdraw, publish."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone
from oscar.apps.catalogue.models import Product

from baskets.models import BasketVariant, RuleStatus
from baskets.page_cache import storefront_pages_changed
from baskets.rules import Problem, RuleReport, rules_evaluate
from baskets.selectors import component_facts_for_variants

logger = logging.getLogger(__name__)

CHECK_FIELDS = [
    "rule_status",
    "rule_problems",
    "rule_checked_at",
    "cost_total",
    "cost_per_person_day",
    "distinct_components",
    "withdrawn_at",
]


class BasketRuleError(Exception):
    """A basket breaks at least one rule; ``problems`` names each."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(problem.message() for problem in self.problems))


_deferred = threading.local()


@contextmanager
def rules_deferred() -> Iterator[None]:
    """Within this block, re-checks are collected and run once at its end (bulk imports), still
    inside the caller's transaction. Nothing is checked if the block raises."""
    stack = _deferred.__dict__.setdefault("stack", [])
    pending: set[int] = set()
    stack.append(pending)
    try:
        yield
    finally:
        stack.pop()
    if pending:
        basket_variants_recheck(variant_ids=pending)


def basket_variants_recheck(*, variant_ids: Iterable[int]) -> dict[int, RuleReport]:
    """Re-check now, or at the end of the enclosing ``rules_deferred`` block."""
    ids = set(variant_ids)
    stack = getattr(_deferred, "stack", None)
    if stack:
        stack[-1].update(ids)
        return {}
    return basket_variants_check(variant_ids=ids) if ids else {}


@transaction.atomic
def basket_variants_check(*, variant_ids: Iterable[int]) -> dict[int, RuleReport]:
    """Evaluate the rules for these variants, store the outcome, and withdraw from sale every
    published variant that now breaks a rule. A constant number of queries for any number."""
    variants = list(
        BasketVariant.objects.filter(pk__in=list(variant_ids)).select_related(
            "product", "themed_basket__theme"
        )
    )
    facts = component_facts_for_variants(variant_ids=[v.pk for v in variants])
    now = timezone.now()
    reports: dict[int, RuleReport] = {}
    withdrawn: list[BasketVariant] = []
    shown_changed: set[int] = set()  # baskets whose pages show a new rule status
    for variant in variants:
        basket = variant.themed_basket
        status_before = variant.rule_status
        report = rules_evaluate(
            components=facts.get(variant.pk, []),
            persons=variant.persons,
            days=basket.days,
            min_components=basket.theme.min_components,
            theme=basket.theme.name,
            diets=basket.diets,
        )
        reports[variant.pk] = report
        variant.rule_status = RuleStatus.VALID if report.ok else RuleStatus.INVALID
        variant.rule_problems = [problem.as_json() for problem in report.problems]
        variant.rule_checked_at = now
        variant.cost_total = report.cost_total
        variant.cost_per_person_day = report.cost_per_person_day
        variant.distinct_components = report.distinct
        if not report.ok and variant.product.is_public:
            variant.withdrawn_at = now
            withdrawn.append(variant)
        if variant.rule_status != status_before or variant in withdrawn:
            shown_changed.add(basket.product_id)
    BasketVariant.objects.bulk_update(variants, CHECK_FIELDS, batch_size=500)
    # bulk_update and update() send no signal: the cached pages are told here.
    if shown_changed:
        storefront_pages_changed(baskets=shown_changed)
    if withdrawn:
        Product.objects.filter(pk__in=[v.product_id for v in withdrawn]).update(is_public=False)
        for variant in withdrawn:
            logger.warning(
                "Basket variant %s withdrawn from sale: %s",
                variant.pk,
                "; ".join(reports[variant.pk].messages()),
            )
    return reports


@transaction.atomic
def basket_variant_publish(*, variant_id: int) -> RuleReport:
    """Put a basket variant (and its basket) on sale. Raises BasketRuleError naming every broken
    rule, and then publishes nothing."""
    variant = BasketVariant.objects.select_for_update().select_related("product").get(pk=variant_id)
    report = basket_variants_check(variant_ids=[variant_id])[variant_id]
    if not report.ok:
        raise BasketRuleError(report.problems)
    Product.objects.filter(pk__in=[variant.product_id, variant.product.parent_id]).update(
        is_public=True
    )
    BasketVariant.objects.filter(pk=variant_id).update(withdrawn_at=None)
    storefront_pages_changed(baskets=[variant.product.parent_id])
    return report


@transaction.atomic
def basket_variant_withdraw(*, variant_id: int) -> None:
    """Take a variant off sale (staff decision; the rules do it themselves when broken)."""
    variant = BasketVariant.objects.select_for_update().get(pk=variant_id)
    Product.objects.filter(pk=variant.product_id).update(is_public=False)
    storefront_pages_changed(themed_baskets=[variant.themed_basket_id])
