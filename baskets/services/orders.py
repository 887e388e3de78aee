"""Keeping the cost of what was sold on the order, so past margins stay true."""

from __future__ import annotations

from oscar.apps.order.models import Order

from baskets.models import BasketVariant, OrderLineCost
from baskets.selectors import component_facts_for_variants
from essentiels.oscar_forks.partner.models import StockRecord


def order_line_costs_record(*, order: Order) -> list[OrderLineCost]:
    """One OrderLineCost per line: a basket's composition cost (and the composition), or a
    product's stock record cost. Idempotent per line."""
    lines = list(order.lines.all())
    variants = {
        v.product_id: v
        for v in BasketVariant.objects.filter(product_id__in=[line.product_id for line in lines])
    }
    facts = component_facts_for_variants(variant_ids=[v.pk for v in variants.values()])
    stock_costs = dict(
        StockRecord.objects.filter(pk__in=[line.stockrecord_id for line in lines]).values_list(
            "pk", "cost_price"
        )
    )
    records = []
    for line in lines:
        variant = variants.get(line.product_id)
        if variant is not None:
            composition = [
                {
                    "product_id": f.product_id,
                    "title": f.title,
                    "quantity": f.quantity,
                    "cost_price": str(f.cost_price) if f.cost_price is not None else None,
                }
                for f in facts.get(variant.pk, [])
            ]
            unit_cost = variant.cost_total
        else:
            composition = []
            unit_cost = stock_costs.get(line.stockrecord_id)
        record, _ = OrderLineCost.objects.get_or_create(
            line=line, defaults={"unit_cost_price": unit_cost, "composition": composition}
        )
        records.append(record)
    return records
