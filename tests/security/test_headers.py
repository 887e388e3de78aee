"""Response headers: the Content-Security-Policy (with a fresh nonce on every page that has an
inline script; pages served from the cache have none; Stripe allowed), and the other browser
protections."""

from __future__ import annotations

import re

import pytest
from django.template import engines

from essentiels.security.csp import nonce_placeholder

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_every_page_has_a_policy_without_unsafe_scripts(client):
    response = client.get("/paniers/")
    assert response.status_code == 200
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'self'"]


def test_the_inline_script_carries_the_nonce_of_its_own_response(client):
    response = client.get("/basket/")  # Oscar's layout: its start-up script is inline
    body = response.content.decode()
    (nonce,) = NONCE.findall(response["Content-Security-Policy"])
    assert f'<script nonce="{nonce}">' in body
    # the placeholder the templates print never reaches a browser
    assert nonce_placeholder() not in body


def test_every_response_gets_a_new_nonce(client):
    first, second = client.get("/basket/"), client.get("/basket/")
    nonces = [NONCE.findall(r["Content-Security-Policy"])[0] for r in (first, second)]
    assert nonces[0] != nonces[1]
    assert f'nonce="{nonces[1]}"' in second.content.decode()
    assert nonces[0] not in second.content.decode()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>")


@pytest.mark.django_db(transaction=True)  # committed: the page cache serves it
def test_pages_served_from_the_cache_run_no_inline_script(client):
    # the basket list and basket pages load their scripts from static files: a page from the
    # cache needs no nonce (were one there, the middleware would fill in a new one)
    from tests.baskets.factories import basket_theme_create, grocery_create, themed_basket_create
    from tests.baskets.test_storefront import basket_url

    theme = basket_theme_create(slug="essentiel")
    rice = grocery_create(title="Riz", cost="0.50", category="Épicerie")
    basket = themed_basket_create(theme=theme, components={rice: 1}, sizes={2: "60.00"})
    for url in ("/paniers/", basket_url(basket)):
        first, second = client.get(url), client.get(url)
        assert second["X-Storefront-Cache"] == "hit"
        for response in (first, second):
            assert INLINE_SCRIPT.findall(response.content.decode()) == []
            assert "'nonce-" not in response["Content-Security-Policy"]
            assert "<script src=" in response.content.decode()


def test_the_nonce_fills_in_pages_rendered_without_a_request():
    # e.g. the waiting room's page (render_to_string): the tag needs no request
    html = (
        engines["django"]
        .from_string('{% load security_tags %}<script nonce="{% csp_nonce %}">')
        .render()
    )
    assert html == f'<script nonce="{nonce_placeholder()}">'
    assert len(nonce_placeholder()) == 24  # a nonce's length: Content-Length stays right


def test_stripe_js_and_its_frames_are_allowed(client, settings):
    settings.STRIPE_API_BASE = ""  # real Stripe
    csp = policy(client.get("/paniers/"))
    assert "https://js.stripe.com" in csp["script-src"]
    assert "https://*.js.stripe.com" in csp["script-src"]
    assert "https://api.stripe.com" in csp["connect-src"]
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= set(csp["frame-src"])


def test_localstripe_is_allowed_where_it_is_configured(client, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420/"
    csp = policy(client.get("/paniers/"))
    for directive in ("script-src", "connect-src", "frame-src"):
        assert "http://127.0.0.1:8420" in csp[directive]


def test_oscars_constant_inline_handlers_are_allowed_by_hash_and_nothing_else(client):
    from essentiels.security.csp import OSCAR_INLINE_HANDLERS, handler_hashes

    csp = policy(client.get("/paniers/"))
    assert "'unsafe-hashes'" in csp["script-src"]
    assert len(OSCAR_INLINE_HANDLERS) == len(handler_hashes())
    hashes = [source for source in csp["script-src"] if source.startswith("'sha256-")]
    assert sorted(hashes) == sorted(handler_hashes())


def test_the_page_does_not_load_jquery_from_a_cdn(client):
    body = client.get("/paniers/").content.decode()
    assert "googleapis" not in body
    assert "document.write" not in body
