"""Random input on every form and endpoint that takes free text: never a 500, and a rejected
input writes nothing (row by row). Hypothesis draws the input: junk text (NUL bytes, control
characters, very long strings, other scripts), near-valid values (postcodes of 1–7 digits, dates
out of range, negative quantities) and valid ones, so both branches run.

Examples are bounded (``FUZZ``: 40 per test, no deadline) to keep the suite quick; the test
client keeps a view's exception as a 500 response instead of raising it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oscar.apps.address.models import UserAddress
from oscar.test import factories as oscar

from baskets.models import BasketSubscription, SubscriptionSkip
from delivery.models import WaitlistEntry
from essentiels.oscar_forks.partner.models import StockRecord
from supply.models import SupplyWaitlistEntry
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, DELIVERY, subscription_create

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    # the database fixture is shared by a test's examples on purpose: each example checks that
    # it left the rows as it found them
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

junk = st.text(max_size=80) | st.text(alphabet="\x00\t\r\n =+-@'\"<>;%_", max_size=20)
huge = st.text(min_size=300, max_size=2000)
postcodes = (
    junk
    | st.from_regex(r"\A[0-9]{1,7}\Z")
    | st.sampled_from(["75013", "75005", "93200", "2A004", " 75 013 ", "00000", "99999"])
)
dates = (
    junk
    | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
    | st.sampled_from(["2026-12-08", "2026-12-15", "2026-02-30", "08/12/2026", "0000-00-00"])
)
integers = junk | st.integers(min_value=-(2**63), max_value=2**63).map(str)
emails = junk | st.emails().map(str) | st.sampled_from(["=1+1@evil.example", "a@b"])


def answered(response) -> int:
    assert response.status_code < 500, response.status_code
    return response.status_code


def anonymous() -> Client:
    return Client(raise_request_exception=False)


# --- postcode check and the delivery waiting list ------------------------------------------


@FUZZ
@given(postcode=postcodes, commune=junk)
def test_postcode_check(db, postcode, commune):
    client = anonymous()
    for name in ("delivery:check", "delivery:check-fragment"):
        answered(client.get(reverse(name), {"postcode": postcode, "commune": commune}))


@FUZZ
@given(email=emails, postcode=postcodes, commune=junk, consent=st.sampled_from(["on", "", junk]))
def test_delivery_waiting_list(db, email, postcode, commune, consent):
    before = WaitlistEntry.objects.count()
    response = anonymous().post(
        reverse("delivery:waitlist"),
        {"email": email, "postcode": postcode, "commune": commune, "consent": consent},
    )
    status = answered(response)
    added = WaitlistEntry.objects.count() - before
    # a refused form writes nothing; an accepted one at most one entry
    assert added == 0 if status == 400 else added in (0, 1)


# --- baskets' storefront filters -----------------------------------------------------------


@FUZZ
@given(theme=junk, diet=junk, persons=integers, page=integers)
def test_basket_list_and_page_filters(db, theme, diet, persons, page):
    client = anonymous()
    answered(
        client.get(
            reverse("baskets:list"),
            {"theme": theme, "diet": diet, "persons": persons, "page": page},
        )
    )


# --- the supply waiting list ----------------------------------------------------------------


@FUZZ
@given(email=emails)
def test_supply_waiting_list(db, email):
    variant = make_variant(components={make_grocery(): 1})
    before = SupplyWaitlistEntry.objects.count()
    answered(anonymous().post(reverse("supply:waitlist", args=[variant.pk]), {"email": email}))
    assert SupplyWaitlistEntry.objects.count() - before in (0, 1)


# --- the waiting room: priority code and « is my district full? » ------------------------------


@FUZZ
@given(code=junk | huge, next_url=junk, postcode=postcodes)
def test_waiting_room_code_and_postcode(db, code, next_url, postcode):
    from waitingroom.models import PriorityCode

    before = list(PriorityCode.objects.values_list("pk", "uses"))
    client = anonymous()
    answered(client.post(reverse("waitingroom:priority-code"), {"code": code, "suite": next_url}))
    answered(client.get(reverse("waitingroom:queue"), {"code_postal": postcode, "suite": next_url}))
    assert list(PriorityCode.objects.values_list("pk", "uses")) == before


# --- the shopper's account: addresses and subscription changes ------------------------------


@pytest.fixture
def subscriber():
    subscription = subscription_create()
    client = Client(raise_request_exception=False)
    client.force_login(subscription.user)
    return client, subscription


def subscription_rows(subscription) -> tuple:
    return (
        list(BasketSubscription.objects.filter(pk=subscription.pk).values()),
        list(SubscriptionSkip.objects.filter(subscription=subscription).values()),
    )


@FUZZ
@given(
    first_name=junk,
    line1=junk | huge,
    postcode=postcodes,
    city=junk,
    phone=junk,
    country=st.sampled_from(["FR", "", "ZZ"]) | junk,
)
def test_address_book_form(subscriber, first_name, line1, postcode, city, phone, country):
    client, subscription = subscriber
    before = UserAddress.objects.count()
    data = {
        "first_name": first_name,
        "last_name": "Martin",
        "line1": line1,
        "line4": city,
        "postcode": postcode,
        "phone_number": phone,
        "country": country,
    }
    status = answered(client.post(reverse("customer:address-create"), data))
    added = UserAddress.objects.count() - before
    assert added == 0 if status == 200 else added in (0, 1)


@time_machine.travel(BEFORE_CUTOFF, tick=False)
@FUZZ
@given(
    skip=dates,
    until=dates,
    reason=junk | huge,
    variant=integers,
    quantity=integers,
)
def test_subscription_changes(subscriber, skip, until, reason, variant, quantity):
    client, subscription = subscriber
    subscription.refresh_from_db()
    pk = subscription.pk
    url = lambda name: reverse(f"baskets:{name}", args=[pk])  # noqa: E731
    # a skip: a date that is not one of the shown deliveries is refused, and writes nothing
    before = subscription_rows(subscription)
    response = client.post(url("subscription-skip"), {"delivery_date": skip})
    answered(response)
    if refused(response):
        assert subscription_rows(subscription) == before
    else:
        # accepted: a Tuesday of Paris 13e within the calendar's horizon
        day = _as_date(skip)
        assert day.weekday() == 1
        assert DELIVERY - timedelta(days=7) <= day <= BEFORE_CUTOFF.date() + timedelta(weeks=12)
    # a change of basket or size with any variant id and quantity
    before = subscription_rows(subscription)
    status = answered(
        client.post(url("subscription-change-basket"), {"variant": variant, "quantity": quantity})
    )
    if status == 400:
        assert subscription_rows(subscription) == before
    # a pause until any date: refused ones (400) change nothing
    before = subscription_rows(subscription)
    if answered(client.post(url("subscription-pause"), {"until": until})) == 400:
        assert subscription_rows(subscription) == before
    answered(client.get(url("subscription-detail")))


@time_machine.travel(BEFORE_CUTOFF, tick=False)
@FUZZ
@given(reason=junk | huge)
def test_subscription_cancel_reason(subscriber, reason):
    client, subscription = subscriber
    before = subscription_rows(subscription)
    url = reverse("baskets:subscription-cancel", args=[subscription.pk])
    if answered(client.post(url, {"reason": reason})) == 400:
        assert subscription_rows(subscription) == before


@time_machine.travel(BEFORE_CUTOFF, tick=False)
@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {
            "first_name": junk,
            "last_name": junk,
            "line1": junk | huge,
            "line2": junk,
            "line4": junk,
            "postcode": postcodes,
            "phone_number": junk,
            "notes": junk | huge,
        }
    ),
    district=integers,
    first_delivery=dates,
)
def test_subscription_address_change(subscriber, fields, district, first_delivery):
    client, subscription = subscriber
    pk = subscription.pk
    before = subscription_rows(subscription)
    # step 1 (preview) never writes
    answered(client.post(reverse("baskets:subscription-change-address", args=[pk]), fields))
    assert subscription_rows(subscription) == before
    # step 2 with a forged district or date: refused, nothing written
    status = answered(
        client.post(
            reverse("baskets:subscription-change-address-confirm", args=[pk]),
            {**fields, "district": district, "first_delivery": first_delivery},
        )
    )
    if status != 302:
        assert subscription_rows(subscription) == before


def _as_date(raw: str) -> date | None:
    """The date the skip form reads from ``raw`` (it also takes French day/month/year)."""
    from baskets.views_account import SkipForm

    form = SkipForm({"delivery_date": raw})
    return form.cleaned_data["delivery_date"] if form.is_valid() else None


def refused(response) -> bool:
    """The view said no: a 400, or a redirect carrying an error message."""
    from django.contrib.messages import ERROR, get_messages

    if response.status_code == 400:
        return True
    return any(m.level == ERROR for m in get_messages(response.wsgi_request))


# --- admin imports: random CSV content ----------------------------------------------------------

HEADER = ["sku", "title", "price_incl_tax", "cost_price", "diets"]
cells = junk | st.sampled_from(["1,50", "2.00", "-1", "0", "1e9", "NaN", "vegan", "halal;x", ""])


def stock_rows() -> list:
    return list(
        StockRecord.objects.order_by("pk").values("pk", "partner_sku", "price", "cost_price")
    )


@pytest.mark.slow
@FUZZ
@given(
    rows=st.lists(
        st.lists(cells, min_size=0, max_size=7),
        min_size=0,
        max_size=8,
    ),
    header=st.sampled_from([HEADER, HEADER[:3], ["sku", "sku"], []]) | st.lists(junk, max_size=5),
    known=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_grocery_import_of_random_csv_is_all_or_nothing(db, rows, header, known):
    from tablib import Dataset

    from baskets.import_export import GroceryCostResource

    products = [make_grocery() for _ in range(2)]
    skus = [p.stockrecords.first().partner_sku for p in products]
    # some rows name real SKUs, so a bad row sits among good ones
    for row, real in zip(rows, known, strict=False):
        if real and row:
            row[0] = skus[len(row) % 2]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    before = stock_rows()
    try:
        dataset = Dataset().load(text.getvalue(), format="csv")
    except Exception:  # noqa: BLE001 — tablib refusing the file is the admin's form error
        return
    result = GroceryCostResource().import_data(dataset, dry_run=False, raise_errors=False)
    if result.has_errors() or result.has_validation_errors():
        assert stock_rows() == before


@FUZZ
@given(content=st.binary(max_size=400) | junk.map(str.encode), fmt=st.sampled_from(["0", "1", "9"]))
def test_grocery_import_page_with_any_file(db, content, fmt):
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = oscar.UserFactory(is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    before = stock_rows()
    upload = SimpleUploadedFile("prix.csv", content, content_type="text/csv")
    answered(
        client.post(
            reverse("admin:baskets_groceryproduct_import"),
            {"import_file": upload, "format": fmt, "resource": "0"},
        )
    )
    # the first step is a dry run: it shows what would change and writes nothing
    assert stock_rows() == before


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_a_skip_beyond_the_calendars_horizon_is_refused(subscriber):
    # given a Tuesday of Paris 13e far ahead (found by the fuzzing: year 4826 was accepted)
    client, subscription = subscriber
    far = date(4826, 5, 5)
    assert far.weekday() == 1
    # when the shopper posts it
    response = client.post(
        reverse("baskets:subscription-skip", args=[subscription.pk]), {"delivery_date": far}
    )
    # then it is refused with a message, and no skip (nor email) is recorded
    assert refused(response)
    assert not SubscriptionSkip.objects.filter(subscription=subscription).exists()
