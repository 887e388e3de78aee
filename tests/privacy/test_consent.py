"""Marketing consent: unticked by default, recorded with its exact words and time, withdrawn and
given again from the account page with the history kept."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from delivery.calendar import PARIS
from privacy.models import Consent, ConsentPurpose, ConsentSource
from privacy.selectors import marketing_email_recipients
from privacy.services import consent_give
from tests.privacy.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WORDING_FR = (
    "Envoyez-moi par email les nouvelles et les offres des Essentiels. Je peux retirer mon "
    "accord à tout moment depuis mon compte (Mes données)."
)
NOON = datetime(2026, 12, 4, 12, 0, tzinfo=PARIS)


def register(client, email: str, *, tick: bool, page: str = "/accounts/login/"):
    data = {
        "registration-email": email,
        "registration-password1": PASSWORD,
        "registration-password2": PASSWORD,
        "registration_submit": "Register",
    }
    if page == "/accounts/register/":
        data = {k.removeprefix("registration-"): v for k, v in data.items()}
    if tick:
        data["marketing_consent"] = "on"
    return client.post(page, data)


@pytest.mark.parametrize("page", ["/accounts/login/", "/accounts/register/"])
def test_the_box_is_on_both_registration_forms_and_unticked(client, page):
    html = client.get(page).content.decode()
    box = html[
        html.index('name="marketing_consent"') - 80 : html.index('name="marketing_consent"') + 120
    ]
    assert "checked" not in box
    assert WORDING_FR in html


@pytest.mark.parametrize("page", ["/accounts/login/", "/accounts/register/"])
def test_ticking_it_when_registering_records_the_words_and_the_time(client, page):
    with time_machine.travel(NOON, tick=False):
        response = register(client, "nouveau@example.fr", tick=True, page=page)
    assert response.status_code == 302
    user = get_user_model().objects.get(email="nouveau@example.fr")
    consent = Consent.objects.get(user=user)
    assert consent.purpose == ConsentPurpose.MARKETING_EMAIL
    assert consent.wording == WORDING_FR
    assert consent.language == "fr"
    assert consent.source == ConsentSource.REGISTRATION
    assert consent.given_at == NOON
    assert consent.withdrawn_at is None


def test_not_ticking_it_records_nothing(client):
    assert register(client, "discret@example.fr", tick=False).status_code == 302
    assert get_user_model().objects.filter(email="discret@example.fr").exists()
    assert not Consent.objects.exists()


def test_the_account_page_withdraws_and_gives_again_keeping_the_history(signed_in, lea):
    page = signed_in.get(reverse("privacy:my-data"))
    assert page.status_code == 200
    assert 'name="marketing_email"' in page.content.decode()
    assert "checked" not in page.content.decode().split('name="marketing_email"')[1][:60]
    # when the shopper ticks the box and saves
    with time_machine.travel(NOON, tick=False):
        signed_in.post(reverse("privacy:consent"), {"marketing_email": "on"})
    first = Consent.objects.get()
    assert (first.source, first.given_at, first.wording) == (
        ConsentSource.ACCOUNT,
        NOON,
        WORDING_FR,
    )
    assert (
        "checked"
        in signed_in.get(reverse("privacy:my-data"))
        .content.decode()
        .split('name="marketing_email"')[1][:60]
    )
    assert list(marketing_email_recipients()) == [lea]
    # saving it ticked again changes nothing
    signed_in.post(reverse("privacy:consent"), {"marketing_email": "on"})
    assert Consent.objects.count() == 1
    # when they untick it
    later = datetime(2026, 12, 20, 9, 30, tzinfo=PARIS)
    with time_machine.travel(later, tick=False):
        signed_in.post(reverse("privacy:consent"), {})
    first.refresh_from_db()
    assert first.withdrawn_at == later
    assert list(marketing_email_recipients()) == []
    # and give it again: a new record, the first one kept as it was
    signed_in.post(reverse("privacy:consent"), {"marketing_email": "on"})
    assert Consent.objects.filter(user=lea).count() == 2
    assert Consent.objects.filter(user=lea, withdrawn_at=None).count() == 1


def test_giving_twice_at_once_keeps_one_active_consent(lea):
    for _ in range(2):
        consent_give(
            user_id=lea.pk,
            purpose=ConsentPurpose.MARKETING_EMAIL,
            wording=WORDING_FR,
            language="fr",
            source=ConsentSource.ACCOUNT,
        )
    assert Consent.objects.filter(withdrawn_at=None).count() == 1


def test_the_page_needs_an_account(client):
    response = client.get(reverse("privacy:my-data"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
