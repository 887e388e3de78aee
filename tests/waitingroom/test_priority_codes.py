"""Priority codes from social services: entered on the queue page, they move the visitor to the
priority lane; expired, used up, revoked or wrong codes are refused with a message; racing
visitors never use a code more than allowed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.waitingroom.test_pages import QUEUE, fill, position, queue_position, queued
from waitingroom.models import PriorityCode, PriorityCodeRedemption
from waitingroom.priority import (
    CODE_ALPHABET,
    MAX_ATTEMPTS,
    PriorityCodeError,
    code_hash,
    priority_code_create,
    priority_code_redeem,
    priority_code_revoke,
)

pytestmark = pytest.mark.django_db


def new_code(*, max_uses: int = 5, days: int = 30) -> str:
    return priority_code_create(
        label="CCAS Paris 13e",
        max_uses=max_uses,
        expires_at=timezone.now() + timedelta(days=days),
    ).plain


def enter_code(client: Client, code: str):
    page = client.get(QUEUE, {"suite": "/livraison/"}).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client.post(
        "/salle-attente/code/",
        {"code": code, "suite": "/livraison/", "csrfmiddlewaretoken": token},
    )


def test_a_code_is_random_readable_and_stored_hashed():
    created = priority_code_create(
        label="x", max_uses=1, expires_at=timezone.now() + timedelta(days=1)
    )
    plain = created.plain.replace("-", "")
    assert len(plain) == 12
    assert set(plain) <= set(CODE_ALPHABET)
    row = PriorityCode.objects.get()
    assert row.code_hash == code_hash(plain) != plain
    assert row.hint == plain[-4:]
    assert plain not in str(PriorityCode.objects.values().get())


def test_a_visitor_entering_a_code_skips_the_queue(room):
    fill(room)
    ahead, helped = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    queued(ahead)
    queued(helped)
    assert queue_position(helped) == 2
    # when they type the code (in lower case, with spaces)
    response = enter_code(helped, new_code().lower().replace("-", " "))
    # then they are first, in the priority lane, and the code counts one use
    assert response.status_code == 303
    page = helped.get(response["Location"]).content.decode()
    assert "Voie prioritaire" in page
    assert position(page) == 1
    assert queue_position(ahead) == 2
    assert PriorityCode.objects.get().uses == 1
    assert PriorityCodeRedemption.objects.count() == 1
    # and it lasts: the token remembers it on every page
    assert queue_position(helped) == 1


def test_without_the_form_s_csrf_token_the_code_is_refused(room):
    fill(room)
    client = Client(enforce_csrf_checks=True)
    queued(client)
    response = client.post("/salle-attente/code/", {"code": new_code()})
    assert response.status_code == 403
    assert PriorityCode.objects.get().uses == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: "ABCD-EFGH-JKMN", "Ce code n&#x27;est pas valide"),
        (lambda: "12", "Ce code n&#x27;est pas valide"),
        (lambda: new_code(days=-1), "Ce code a expiré"),
        (lambda: new_code(max_uses=1), "déjà été utilisé autant de fois que permis"),
        ("revoked", "Ce code n&#x27;est pas valide"),
    ],
)
def test_a_code_that_does_not_open_the_lane_says_why(room, make, message):
    fill(room)
    client = Client(enforce_csrf_checks=True)
    queued(client)
    if make == "revoked":
        code = new_code()
        priority_code_revoke(code_id=PriorityCode.objects.get().pk)
    else:
        code = make()
    if "autant de fois" in message:
        priority_code_redeem(code=code, visitor="someone-else-already-0001")
    response = enter_code(client, code)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert position(html) == 1
    assert "Voie prioritaire</span>" not in html


def test_a_visitor_trying_codes_is_stopped_after_a_few(room):
    fill(room)
    client = Client(enforce_csrf_checks=True)
    queued(client)
    for _attempt in range(MAX_ATTEMPTS):
        assert "pas valide" in enter_code(client, "ZZZZ-ZZZZ-ZZZZ").content.decode()
    good = new_code()
    response = enter_code(client, good)
    assert "Trop d&#x27;essais" in response.content.decode()
    assert PriorityCode.objects.get().uses == 0


def test_the_same_visitor_uses_a_code_once():
    code = new_code(max_uses=1)
    priority_code_redeem(code=code, visitor="visitor-same-000001")
    priority_code_redeem(code=code, visitor="visitor-same-000001")
    assert PriorityCode.objects.get().uses == 1
    with pytest.raises(PriorityCodeError):
        priority_code_redeem(code=code, visitor="visitor-other-00001")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_racing_visitors_never_use_a_code_more_than_allowed(racer, room):
    # given a code for 3 people
    code = new_code(max_uses=3)
    counter = iter(range(1000))

    def redeem():
        return priority_code_redeem(code=code, visitor=f"racing-visitor-{next(counter):04d}")

    # when 12 visitors enter it at the same moment
    results = racer(12, redeem)
    # then exactly 3 get in, the others are told it is used up, and the count is 3
    assert sum(isinstance(r, PriorityCode) for r in results) == 3
    assert sum(isinstance(r, PriorityCodeError) for r in results) == 9
    assert PriorityCode.objects.get().uses == 3
    assert PriorityCodeRedemption.objects.count() == 3
