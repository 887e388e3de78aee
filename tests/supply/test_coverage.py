"""supply.coverage: the one-pass ``adds_shortfall`` says what comparing the coverage without and
with the extra units week by week says, for any stock, commitments, demand and extra."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from supply.coverage import adds_shortfall, coverage_weeks


def _by_definition(*, stock, committed, demand, extra):
    before = coverage_weeks(stock=stock, committed=committed, demand=demand)
    after = coverage_weeks(
        stock=stock, committed=committed, demand=[d + e for d, e in zip(demand, extra, strict=True)]
    )
    return next(
        (
            index
            for index, (old, new) in enumerate(zip(before, after, strict=True))
            if new.shortfall > old.shortfall
        ),
        None,
    )


units = st.integers(min_value=0, max_value=60)


@given(
    stock=st.integers(min_value=-5, max_value=100),
    weeks=st.lists(st.tuples(units, units, units), min_size=0, max_size=8),
)
def test_adds_shortfall_is_the_first_week_the_extra_makes_or_deepens_a_shortage(stock, weeks):
    committed = [week[0] for week in weeks]
    demand = [week[1] for week in weeks]
    extra = [week[2] for week in weeks]
    assert adds_shortfall(
        stock=stock, committed=committed, demand=demand, extra=extra
    ) == _by_definition(stock=stock, committed=committed, demand=demand, extra=extra)
