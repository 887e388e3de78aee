"""essentiels.prepared: a query compiled once and, on PostgreSQL, planned once per connection
returns what the ORM returns, for any parameters, on any connection."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext, override_settings
from oscar.apps.catalogue.models import Product

from essentiels.prepared import PreparedQuery, PreparedQueryError
from supply.models import SupplyReservation
from tests.baskets.factories import groceries_create
from tests.conftest import race

MONDAY = date(2026, 11, 30)


def _reservations(product_id: int, first_week: date, last_week: date):
    return (
        SupplyReservation.objects.filter(
            product_id=product_id, week__gte=first_week, week__lte=last_week
        )
        .order_by("week")
        .values("week", "reserved", "product__title")
    )


def _reserved_total(title: str):
    return (
        SupplyReservation.objects.filter(product__title=title)
        .values("product_id")
        .annotate(total=Sum("reserved"))
        .values_list("product_id", "total")
    )


RESERVATIONS = PreparedQuery(
    "test_prepared_reservations",
    _reservations,
    product_id=Product._meta.pk,
    first_week=date,
    last_week=date,
)
RESERVED_TOTAL = PreparedQuery("test_prepared_reserved_total", _reserved_total, title=str)


@pytest.fixture
def reservations():
    # given two groceries, each reserved over six weeks
    products = groceries_create(count=2)
    for n, product in enumerate(products):
        for week in range(6):
            SupplyReservation.objects.create(
                product=product, week=MONDAY + timedelta(weeks=week), reserved=10 * n + week
            )
    return products


def _statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db
def test_a_prepared_query_returns_what_the_orm_returns(reservations):
    for product in reservations:
        for first, last in [(0, 5), (1, 3), (4, 4), (6, 9)]:
            weeks = MONDAY + timedelta(weeks=first), MONDAY + timedelta(weeks=last)
            # when read prepared, then through the ORM
            prepared = RESERVATIONS.dicts(
                product_id=product.pk, first_week=weeks[0], last_week=weeks[1]
            )
            # then the same rows, with the same names and types
            assert prepared == list(_reservations(product.pk, *weeks))
    title = reservations[1].title
    assert RESERVED_TOTAL.rows(title=title) == list(_reserved_total(title))
    assert RESERVED_TOTAL.rows(title="nothing of the kind") == []


@pytest.mark.django_db
def test_each_call_is_one_execute_of_a_statement_prepared_once_per_connection(reservations):
    product = reservations[0]
    weeks = {"first_week": MONDAY, "last_week": MONDAY + timedelta(weeks=2)}
    RESERVATIONS.rows(product_id=product.pk, **weeks)
    prepared = _statements()
    # when run again on the same connection
    with CaptureQueriesContext(connection) as ctx:
        RESERVATIONS.rows(product_id=reservations[1].pk, **weeks)
    # then one query, an EXECUTE of the statement prepared before, and nothing prepared anew
    assert len(ctx.captured_queries) == 1
    assert ctx.captured_queries[0]["sql"].startswith("EXECUTE ess_test_prepared_reservations_")
    assert _statements() == prepared
    assert sum(name.startswith("ess_test_prepared_reservations_") for name in prepared) == 1


@pytest.mark.django_db
def test_the_statement_outlives_a_rolled_back_transaction(reservations):
    query = PreparedQuery(
        "test_prepared_rolled_back", _reservations, product_id=int, first_week=date, last_week=date
    )
    values = {"product_id": reservations[0].pk, "first_week": MONDAY, "last_week": MONDAY}

    def prepare_then_roll_back() -> None:
        with transaction.atomic():
            assert len(query.rows(**values)) == 1
            raise RuntimeError("rolled back")

    # given the statement first prepared inside a transaction that is then rolled back
    assert not any(name.startswith("ess_test_prepared_rolled_back_") for name in _statements())
    with pytest.raises(RuntimeError):
        prepare_then_roll_back()
    # then it is still prepared, and runs, on this connection
    assert any(name.startswith("ess_test_prepared_rolled_back_") for name in _statements())
    assert len(query.rows(**values)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_the_statement_again(reservations):
    product = reservations[0]
    weeks = {"first_week": MONDAY, "last_week": MONDAY + timedelta(weeks=5)}
    assert len(RESERVATIONS.rows(product_id=product.pk, **weeks)) == 6
    # when the connection is replaced (CONN_MAX_AGE, a restarted PostgreSQL)
    connection.close()
    # then the statement is prepared on the new one
    assert len(RESERVATIONS.rows(product_id=product.pk, **weeks)) == 6
    assert any(name.startswith("ess_test_prepared_reservations_") for name in _statements())


@pytest.mark.django_db(transaction=True)
def test_concurrent_connections_each_get_their_own_statement(reservations):
    products = [product.pk for product in reservations]

    threads = itertools.count()

    def read() -> tuple[int, list]:
        # each thread on its own connection, reading both products in turn
        n = next(threads)
        return n, [
            [
                row["reserved"]
                for row in RESERVATIONS.dicts(
                    product_id=products[(n + i) % 2],
                    first_week=MONDAY,
                    last_week=MONDAY + timedelta(weeks=5),
                )
            ]
            for i in range(20)
        ]

    results = race(8, read)
    # then every thread read exactly the rows of the product it asked for, every time
    for result in results:
        assert not isinstance(result, Exception), result
        n, rows = result
        for i, reserved in enumerate(rows):
            first = 10 * ((n + i) % 2)
            assert reserved == list(range(first, first + 6))


@pytest.mark.django_db
def test_an_id_no_row_can_hold_matches_nothing_without_a_query(reservations):
    with CaptureQueriesContext(connection) as ctx:
        rows = RESERVATIONS.rows(product_id=10**30, first_week=MONDAY, last_week=MONDAY)
    assert rows == []
    assert ctx.captured_queries == []


@pytest.mark.django_db
@override_settings(DB_PREPARED_STATEMENTS=False)
def test_without_prepared_statements_the_kept_sql_runs_as_it_is(reservations):
    product = reservations[1]
    with CaptureQueriesContext(connection) as ctx:
        rows = RESERVATIONS.rows(product_id=product.pk, first_week=MONDAY, last_week=MONDAY)
    assert [row[1] for row in rows] == [10]
    assert ctx.captured_queries[0]["sql"].startswith("SELECT ")


@pytest.mark.django_db
def test_a_parameter_that_never_reaches_the_sql_is_refused():
    ignored = PreparedQuery(
        "test_prepared_ignored",
        lambda product_id: SupplyReservation.objects.values_list("week"),
        product_id=int,
    )
    with pytest.raises(PreparedQueryError, match="product_id"):
        ignored.rows(product_id=1)


def test_names_are_unique_and_parameters_typed():
    with pytest.raises(ValueError, match="already taken"):
        PreparedQuery("test_prepared_reservations", _reservations)
    with pytest.raises(TypeError, match="unsupported type"):
        PreparedQuery("test_prepared_floats", _reservations, ratio=float)
    with pytest.raises(TypeError, match="takes"):
        RESERVED_TOTAL.rows(name="x")
