"""essentiels.security.csrf_token: Django's CSRF token, drawn more cheaply — the token Django's
middleware checks, the cookie it sets, and characters as random as Django's."""

from __future__ import annotations

from collections import Counter

from django.http import HttpResponse
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CsrfViewMiddleware,
    _check_token_format,
    _unmask_cipher_token,
)
from django.test import RequestFactory

from essentiels.security.csrf_token import _random_indices, csrf_token


def test_a_visitor_without_a_cookie_gets_a_new_secret_and_the_cookie_on_the_response(settings):
    request = RequestFactory().get("/paniers/")
    token = csrf_token(request)
    # then the token is a masked form of the new secret, as Django's get_token makes it
    _check_token_format(token)
    assert len(token) == 64
    secret = request.META["CSRF_COOKIE"]
    assert len(secret) == 32
    assert set(secret) <= set(CSRF_ALLOWED_CHARS)
    assert _unmask_cipher_token(token) == secret
    # and Django's middleware sets that secret as the visitor's cookie
    response = CsrfViewMiddleware(lambda r: HttpResponse())(request)
    assert response.cookies[settings.CSRF_COOKIE_NAME].value == secret


def test_a_visitor_with_a_cookie_keeps_their_secret_and_a_form_with_the_token_posts():
    request = RequestFactory().get("/paniers/")
    request.META["CSRF_COOKIE"] = secret = "a" * 16 + "Z9" * 8
    first, second = csrf_token(request), csrf_token(request)
    assert request.META["CSRF_COOKIE"] == secret
    assert first != second  # a new mask each time (BREACH)
    assert _unmask_cipher_token(first) == _unmask_cipher_token(second) == secret
    # then a POST with the visitor's cookie and that token passes Django's check
    post = RequestFactory().post("/i18n/setlang/", {"csrfmiddlewaretoken": first})
    post.COOKIES["csrftoken"] = secret
    middleware = CsrfViewMiddleware(lambda r: HttpResponse())
    assert middleware.process_view(post, lambda r: HttpResponse(), (), {}) is None


def test_the_characters_are_drawn_evenly():
    counts = Counter(_random_indices(62 * 2000))
    assert set(counts) == set(range(len(CSRF_ALLOWED_CHARS)))
    # each of the 62 characters about 2,000 times (a biased draw would favour the first 8)
    assert min(counts.values()) > 1700
    assert max(counts.values()) < 2300


def test_every_page_renders_its_csrf_token_with_it_and_the_form_posts(monkeypatch, settings):
    from django.template import engines

    def slow(request):
        raise AssertionError("Django's get_token drew the page's token")

    monkeypatch.setattr("django.template.context_processors.get_token", slow)
    request = RequestFactory().get("/paniers/")
    html = (
        engines["django"].from_string("{% csrf_token %}").render({}, request)
    )  # a RequestContext: Django's csrf processor first, ours last
    token = html.split('value="')[1].split('"')[0]
    _check_token_format(token)
    # then it is the masked secret the middleware will set as the cookie, and it posts
    secret = request.META["CSRF_COOKIE"]
    assert _unmask_cipher_token(token) == secret
    post = RequestFactory().post("/i18n/setlang/", {"csrfmiddlewaretoken": token})
    post.COOKIES[settings.CSRF_COOKIE_NAME] = secret
    middleware = CsrfViewMiddleware(lambda r: HttpResponse())
    assert middleware.process_view(post, lambda r: HttpResponse(), (), {}) is None
