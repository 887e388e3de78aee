"""The basket rules, in one place. Every path that can change a basket calls this module:
admin saves, imports, publication, and the re-check when a component's cost or diet changes.

``rules_evaluate`` is pure (no database): give it the facts of a composition, it says what is
broken. Money is ``Decimal``; the ceiling is compared *exactly* (total ≤ ceiling × persons ×
days), never after rounding, so €5.0049 per person-day does not pass as €5.00.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from baskets.models import Diet

CENT = Decimal("0.01")


def cost_ceiling() -> Decimal:
    """The most a basket may cost per person per day (setting BASKET_COST_CEILING)."""
    return Decimal(settings.BASKET_COST_CEILING)


@dataclass(frozen=True)
class ComponentFacts:
    product_id: int
    title: str
    quantity: int
    cost_price: Decimal | None
    diets: frozenset[str]
    # A public grocery product with a stock record: something the warehouse can actually pick.
    in_assortment: bool
    pack_size: str = ""


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict = field(default_factory=dict)
    product_id: int | None = None

    def message(self) -> str:
        """The problem in the active language."""
        p = self.params
        match self.code:
            case "empty":
                return _("The basket has no component.")
            case "quantity":
                return _("“%(title)s”: the quantity must be at least 1.") % p
            case "duplicate":
                return _("“%(title)s” appears twice: give it one line with the total quantity.") % p
            case "no_cost":
                return _("“%(title)s” has no cost price.") % p
            case "not_in_assortment":
                return _("“%(title)s” is not in the assortment (unpublished or not stocked).") % p
            case "diet":
                return _("“%(title)s” is not %(diet)s, but the basket promises it.") % p
            case "too_few":
                return (
                    _(
                        "Only %(distinct)s different products; the theme “%(theme)s” needs "
                        "at least %(minimum)s."
                    )
                    % p
                )
            case "ceiling":
                return (
                    _(
                        "Costs %(per_day)s € per person per day, above the ceiling of "
                        "%(ceiling)s € (%(total)s € for %(persons)s persons × %(days)s days)."
                    )
                    % p
                )
        return self.code

    def as_json(self) -> dict:
        return {"code": self.code, "params": self.params, "product_id": self.product_id}

    @classmethod
    def from_json(cls, data: dict) -> Problem:
        return cls(
            code=data["code"], params=data.get("params", {}), product_id=data.get("product_id")
        )


@dataclass(frozen=True)
class RuleReport:
    cost_total: Decimal
    cost_per_person_day: Decimal  # rounded *up* to the cent, for display only
    distinct: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def messages(self) -> list[str]:
        return [problem.message() for problem in self.problems]


def _money(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def rules_evaluate(
    *,
    components: Sequence[ComponentFacts],
    persons: int,
    days: int,
    min_components: int,
    theme: str,
    diets: frozenset[str],
    ceiling: Decimal | None = None,
) -> RuleReport:
    """Every broken rule of one basket variant's composition (empty when it may be sold)."""
    ceiling = cost_ceiling() if ceiling is None else ceiling
    problems: list[Problem] = []
    if not components:
        problems.append(Problem("empty"))

    seen: set[int] = set()
    total = Decimal("0")
    for component in components:
        params = {"title": component.title}
        if component.product_id in seen:
            problems.append(Problem("duplicate", params, component.product_id))
            continue
        seen.add(component.product_id)
        if component.quantity < 1:
            problems.append(Problem("quantity", params, component.product_id))
        if not component.in_assortment:
            problems.append(Problem("not_in_assortment", params, component.product_id))
        if component.cost_price is None:
            problems.append(Problem("no_cost", params, component.product_id))
        else:
            total += component.cost_price * max(component.quantity, 0)
        for diet in sorted(diets - component.diets):
            label = str(Diet(diet).label).lower()
            problems.append(Problem("diet", {**params, "diet": label}, component.product_id))

    if len(seen) < min_components:
        problems.append(
            Problem("too_few", {"distinct": len(seen), "minimum": min_components, "theme": theme})
        )

    person_days = persons * days
    per_day_shown = (total / person_days).quantize(CENT, rounding=ROUND_UP)
    if total > ceiling * person_days:
        problems.append(
            Problem(
                "ceiling",
                {
                    "per_day": _money(per_day_shown),
                    "ceiling": _money(ceiling),
                    "total": _money(total),
                    "persons": persons,
                    "days": days,
                },
            )
        )
    return RuleReport(
        cost_total=total.quantize(CENT),
        cost_per_person_day=per_day_shown,
        distinct=len(seen),
        problems=tuple(problems),
    )
