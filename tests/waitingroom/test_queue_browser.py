"""A shopper in Chromium: sent to the queue page, checks their postcode while waiting, and is
let into the shop by the page's own refresh once a slot frees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.factories import paris_13e
from tests.waitingroom.test_pages import fill
from waitingroom.fullness import delivery_fullness_refresh
from waitingroom.store import Keys

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


def test_a_queued_shopper_waits_checks_their_postcode_and_gets_in(
    live_server, page, room, settings, tmp_path: Path
):
    settings.WAITING_ROOM_REFRESH_SECONDS = 2
    paris_13e()
    delivery_fullness_refresh()
    fill(room)
    # given a full shop, a shopper asks for the postcode check page
    page.goto(f"{live_server.url}/livraison/")
    # then they wait on the queue page, in French, first in line
    assert "/salle-attente/" in page.url
    assert page.locator("h1").inner_text() == "Beaucoup de monde fait ses courses en ce moment"
    assert "Votre place dans la file : 1" in page.locator("[role=status]").inner_text()
    # when they check their postcode while waiting
    page.fill("#postcode", "75013")
    page.locator("#postcode").press("Enter")
    page.wait_for_url("**code_postal=75013**")
    assert "Paris 13e : il reste de la place" in page.content()
    page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
    # and a slot frees: the page refreshes itself and lets them into the shop
    room.redis().delete(Keys.active)
    page.wait_for_url(f"{live_server.url}/livraison/", timeout=15_000)
    assert "salle-attente" not in page.url
