"""The postcode check (page, fragment, catalogue) and the waitlist."""

import pytest
from django.urls import reverse

from delivery.models import WaitlistEntry
from delivery.services.waitlist import WaitlistError, waitlist_join
from tests.delivery.factories import DeliveryDateFactory, DistrictFactory, paris_13e

pytestmark = pytest.mark.django_db


def test_a_served_postcode_shows_the_weekday_and_next_date(client):
    paris_13e()
    response = client.get(reverse("delivery:check-fragment"), {"postcode": " 75013 "})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Livré chaque mardi dans Paris 13e" in html
    assert "prochaine livraison le mardi" in html
    assert "liste-attente" not in html


def test_a_full_date_is_said_and_the_next_one_offered(client):
    from delivery.calendar import delivery_dates_upcoming

    district = paris_13e()
    first, second = delivery_dates_upcoming(district=district, count=2)
    DeliveryDateFactory(district=district, date=first, capacity=3, booked=3)
    html = client.get(reverse("delivery:check"), {"postcode": "75013"}).content.decode()
    assert f"prochaine livraison le mardi {second.day} " in html
    assert "est complète" in html


@pytest.mark.parametrize("raw", ["7501", "ABCDE", "750133"])
def test_malformed_postcodes_get_a_clear_message(client, raw):
    html = client.get(reverse("delivery:check"), {"postcode": raw}).content.decode()
    assert "code postal français à cinq chiffres" in html


def test_an_unserved_commune_offers_the_waitlist(client):
    DistrictFactory(name="Montreuil", insee_code="93048", is_active=False, postcodes=["93100"])
    html = client.get(reverse("delivery:check"), {"postcode": "93100"}).content.decode()
    assert "Nous ne livrons pas encore Montreuil (93100)" in html
    assert 'action="/livraison/liste-attente/"' in html


def test_a_postcode_outside_the_area_offers_the_waitlist(client):
    html = client.get(reverse("delivery:check"), {"postcode": "69001"}).content.decode()
    assert "hors de notre zone de livraison" in html
    assert "liste-attente" in html


def test_a_shared_postcode_asks_for_the_commune(client):
    DistrictFactory(name="Saint-Maur-des-Fossés", insee_code="94068", postcodes=["94210"])
    DistrictFactory(name="La Varenne", insee_code="94999", postcodes=["94210"])
    html = client.get(reverse("delivery:check"), {"postcode": "94210"}).content.decode()
    assert "laquelle est la vôtre" in html
    assert 'value="La Varenne"' in html
    html = client.get(
        reverse("delivery:check"), {"postcode": "94210", "commune": "La Varenne"}
    ).content.decode()
    assert "Livré chaque mardi dans La Varenne" in html


def test_the_catalogue_shows_the_postcode_check(client):
    html = client.get("/catalogue/").content.decode()
    assert "Livrons-nous chez vous" in html
    assert 'data-fragment-url="/livraison/verifier/"' in html


def test_the_check_speaks_english_under_en(client):
    paris_13e()
    html = client.get("/en/livraison/verifier/", {"postcode": "75013"}).content.decode()
    assert "Delivered every tuesday in Paris 13e" in html


def test_joining_the_waitlist_stores_consent_and_wording(client):
    DistrictFactory(name="Montreuil", insee_code="93048", is_active=False, postcodes=["93100"])
    response = client.post(
        reverse("delivery:waitlist"),
        {"email": "Voisine@Example.org", "postcode": " 93100", "consent": "on"},
    )
    assert response.status_code == 200
    assert "Nous écrirons à voisine@example.org" in response.content.decode()
    entry = WaitlistEntry.objects.get()
    assert (entry.email, entry.postcode, entry.district.name) == (
        "voisine@example.org",
        "93100",
        "Montreuil",
    )
    assert entry.consent_text.startswith("J'accepte que Les Essentiels conserve")
    assert entry.consented_at is not None
    assert entry.language == "fr"


def test_the_waitlist_refuses_without_consent_and_stores_nothing(client):
    response = client.post(
        reverse("delivery:waitlist"), {"email": "a@example.org", "postcode": "93100"}
    )
    assert response.status_code == 400
    assert "Cochez la case" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_the_waitlist_refuses_a_malformed_postcode(client):
    response = client.post(
        reverse("delivery:waitlist"),
        {"email": "a@example.org", "postcode": "ABCDE", "consent": "on"},
    )
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_signing_up_twice_renews_rather_than_duplicates():
    first = waitlist_join(email="a@example.org", postcode="93100", consent_text="v1")
    second = waitlist_join(email="A@example.org ", postcode="93 100", consent_text="v2")
    assert first.pk == second.pk
    assert WaitlistEntry.objects.get().consent_text == "v2"
    with pytest.raises(WaitlistError):
        waitlist_join(email="a@example.org", postcode="9310", consent_text="v1")
