"""The rule service, pure: random compositions and prices never let a bad basket through."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from baskets.models import Diet
from baskets.rules import ComponentFacts, rules_evaluate

CEILING = Decimal("5.00")


def facts(n: int, cost: str | None, quantity: int = 1, diets=frozenset(Diet.values), **kw):
    return ComponentFacts(
        product_id=n,
        title=f"P{n}",
        quantity=quantity,
        cost_price=None if cost is None else Decimal(cost),
        diets=frozenset(diets),
        in_assortment=kw.get("in_assortment", True),
    )


def evaluate(components, *, persons=1, days=7, minimum=1, diets=frozenset()):
    return rules_evaluate(
        components=components,
        persons=persons,
        days=days,
        min_components=minimum,
        theme="Essentiel",
        diets=frozenset(diets),
        ceiling=CEILING,
    )


def codes(report):
    return [problem.code for problem in report.problems]


def test_exactly_the_ceiling_passes_and_one_cent_more_does_not():
    assert evaluate([facts(1, "35.00")]).ok  # 35 € / (1 × 7) = 5.00
    report = evaluate([facts(1, "35.01")])
    assert codes(report) == ["ceiling"]
    assert report.cost_per_person_day == Decimal("5.01")  # shown rounded up, never down


def test_rounding_never_lets_five_euros_and_a_fraction_of_a_cent_through():
    # 5.0049 € per person-day over 10,000 person-days: rounds to 5.00 but is above the ceiling
    report = evaluate([facts(1, "50049.00")], persons=1000, days=10)
    assert codes(report) == ["ceiling"]
    assert report.cost_per_person_day == Decimal("5.01")


def test_every_rule_names_its_component():
    report = evaluate(
        [
            facts(1, None),
            facts(2, "1.00", diets={"vegan"}),
            facts(3, "1.00", in_assortment=False),
            facts(3, "1.00"),
        ],
        minimum=5,
        diets={"vegetarian", "halal"},
    )
    assert codes(report) == ["no_cost", "diet", "diet", "not_in_assortment", "duplicate", "too_few"]
    assert report.problems[1].product_id == 2
    messages = report.messages()
    assert "« P1 » n’a pas de prix de revient." in messages
    assert any("en demande au moins 5" in m for m in messages)


def test_an_empty_basket_is_refused():
    assert "empty" in codes(evaluate([]))


cost_cents = st.integers(min_value=1, max_value=5_000)


@given(
    lines=st.lists(
        st.tuples(cost_cents, st.integers(min_value=1, max_value=20)), min_size=1, max_size=60
    ),
    persons=st.integers(min_value=1, max_value=8),
    days=st.integers(min_value=1, max_value=14),
)
def test_a_publishable_basket_never_exceeds_the_ceiling(lines, persons, days):
    components = [
        facts(i, f"{cost // 100}.{cost % 100:02d}", quantity)
        for i, (cost, quantity) in enumerate(lines)
    ]
    report = evaluate(components, persons=persons, days=days)
    exact = sum(Decimal(c) / 100 * q for c, q in lines) / (persons * days)
    assert report.ok == (exact <= CEILING)
    if report.ok:
        assert report.cost_per_person_day <= CEILING
    # the figure shown is the exact one rounded up to the cent
    assert report.cost_per_person_day - Decimal("0.01") < exact <= report.cost_per_person_day


@given(
    basket_diets=st.sets(st.sampled_from(Diet.values)),
    component_diets=st.lists(st.sets(st.sampled_from(Diet.values)), min_size=1, max_size=10),
)
def test_a_diet_promise_holds_for_every_component(basket_diets, component_diets):
    components = [facts(i, "0.10", diets=d) for i, d in enumerate(component_diets)]
    report = evaluate(components, diets=basket_diets)
    consistent = all(basket_diets <= d for d in component_diets)
    assert report.ok == consistent
