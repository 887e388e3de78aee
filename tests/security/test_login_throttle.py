"""Brute force on the shop's and the admin's logins (django-axes, essentiels/security/): locks,
what they say, how they end, and who they do not lock out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from oscar.test.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "un-mot-de-passe-solide"
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"
LOGIN = "/accounts/login/"


@pytest.fixture
def shopper():
    return UserFactory(email="lea@example.fr", password=PASSWORD)


def shop_login(client, email: str, password: str, *, ip: str = ATTACKER, **extra):
    return client.post(
        LOGIN,
        {"login-username": email, "login-password": password, "login_submit": "Log In"},
        REMOTE_ADDR=ip,
        **extra,
    )


def fail(client, email: str, times: int, *, ip: str = ATTACKER, **extra) -> list[int]:
    """Wrong passwords; the status of each answer (200: the form again, 429: locked)."""
    return [
        shop_login(client, email, "mauvais-mot-de-passe", ip=ip, **extra).status_code
        for _ in range(times)
    ]


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_that_email_from_that_address(client, shopper):
    # given four wrong passwords from one address, each answered with the form again
    assert fail(client, "lea@example.fr", 4) == [200] * 4
    # when the fifth fails too, the lock starts
    assert fail(client, "lea@example.fr", 1) == [429]
    # then even the right password is refused, with a French page saying when to try again
    response = shop_login(client, "lea@example.fr", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Trop de tentatives de connexion" in page
    retry_at = timezone.localtime(timezone.now() + timedelta(minutes=15)).strftime("%H:%M")
    assert f"Vous pourrez réessayer à {retry_at}" in page
    assert reverse("password-reset") in page
    assert int(response["Retry-After"]) == 15 * 60
    assert not is_signed_in(client)


def test_the_victim_still_signs_in_from_their_own_address(client, shopper):
    # given an attacker locked out of Léa's account from their address
    fail(client, "lea@example.fr", 5)
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 429
    # when Léa signs in from her own connection
    client.cookies.clear()
    response = shop_login(client, "lea@example.fr", PASSWORD, ip=VICTIM)
    # then she is in: the attacker cannot lock her out
    assert response.status_code == 302
    assert is_signed_in(client)


def test_the_lock_ends_by_itself_after_the_cool_off(client, shopper):
    fail(client, "lea@example.fr", 5)
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 429
    # tries made while locked do not push the end further
    fail_at = timezone.now()
    with time_machine.travel(fail_at + timedelta(minutes=10), tick=False):
        assert shop_login(client, "lea@example.fr", "encore-faux").status_code == 429
    # when 15 minutes have passed since the last counted failure
    with time_machine.travel(fail_at + timedelta(minutes=15, seconds=5), tick=False):
        response = shop_login(client, "lea@example.fr", PASSWORD)
    # then the right password works again
    assert response.status_code == 302


def test_case_and_spaces_do_not_give_more_tries(client, shopper):
    for email in [
        "lea@example.fr",
        "LEA@example.fr",
        " Lea@Example.fr",
        "lEa@example.FR",
        "lea@EXAMPLE.fr",
    ]:
        fail(client, email, 1)
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 429
    assert AccessAttempt.objects.get().username == "lea@example.fr"


def test_one_address_trying_many_emails_is_locked(client, settings, shopper):
    settings.LOGIN_THROTTLE_IP_FAILURE_LIMIT = 8
    # given one machine trying one password on eight accounts (under each pair's limit)
    for n in range(8):
        fail(client, f"client{n}@example.fr", 1)
    # then that machine cannot try a ninth, even with the right password
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 429
    # and everyone elsewhere still signs in
    assert shop_login(client, "lea@example.fr", PASSWORD, ip=VICTIM).status_code == 302


def test_a_login_counts_both_layers_in_one_query(
    client, settings, shopper, django_assert_num_queries
):
    from django.test import RequestFactory

    from essentiels.security.login_throttle import LoginThrottleHandler

    settings.LOGIN_THROTTLE_IP_FAILURE_LIMIT = 8
    # given three failures for Léa and five for others, all from one address
    fail(client, "lea@example.fr", 3)
    for n in range(5):
        fail(client, f"client{n}@example.fr", 1)
    request = RequestFactory().post(LOGIN, {"login-username": "lea@example.fr"})
    request.axes_ip_address = ATTACKER
    request.axes_attempt_time = timezone.now()
    # then one query counts Léa's three, and the address's eight reach the pair's limit
    with django_assert_num_queries(1):
        failures = LoginThrottleHandler().get_failures(request)
    assert failures == settings.AXES_FAILURE_LIMIT
    settings.LOGIN_THROTTLE_IP_FAILURE_LIMIT = 9
    assert LoginThrottleHandler().get_failures(request) == 3


def test_a_successful_login_clears_that_pairs_failures(client, shopper):
    fail(client, "lea@example.fr", 4)
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 302
    client.logout()
    # four more mistakes later, the shopper is not locked (the count started again)
    fail(client, "lea@example.fr", 4)
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 302


def test_the_password_tried_is_never_stored(client, shopper):
    shop_login(client, "lea@example.fr", "mon-secret-essaye")
    attempt = AccessAttempt.objects.get()
    assert "mon-secret-essaye" not in attempt.post_data
    assert "lea@example.fr" not in attempt.post_data  # kept in its own column only
    assert attempt.username == "lea@example.fr"
    assert attempt.ip_address == ATTACKER


# --- the checkout's "I have an account" ------------------------------------------------------


@pytest.fixture
def cart_with_a_basket(client):
    from tests.baskets.conftest import make_grocery, make_variant

    variant = make_variant(components={make_grocery(): 2}, price="40.00", persons=2)
    response = client.post(
        reverse("basket:add", kwargs={"pk": variant.product_id}),
        {"quantity": 1, "frequency": "once"},
    )
    assert response.status_code == 302


def test_the_checkout_sign_in_is_throttled_too(client, shopper, cart_with_a_basket):
    def gateway(password: str):
        return client.post(
            reverse("checkout:index"),
            {"username": "lea@example.fr", "options": "existing", "password": password},
            REMOTE_ADDR=ATTACKER,
        )

    assert [gateway("mauvais").status_code for _ in range(5)] == [200] * 4 + [429]
    response = gateway(PASSWORD)
    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in response.content.decode()


# --- staff ----------------------------------------------------------------------------------


@pytest.fixture
def chef():
    return get_user_model().objects.create_superuser(
        username="chef", email="chef@essentiels.localhost", password=PASSWORD
    )


def admin_login(client, password: str, *, ip: str = ATTACKER):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "chef@essentiels.localhost", "password": password},
        REMOTE_ADDR=ip,
    )


def test_the_admin_login_locks_and_staff_unlock_it(client, chef):
    # given the chef's account locked from one address
    assert [admin_login(client, "faux").status_code for _ in range(5)] == [200] * 4 + [429]
    assert admin_login(client, PASSWORD).status_code == 429
    # when another admin, signed in elsewhere, unlocks it in the admin
    other = get_user_model().objects.create_superuser(
        username="second", email="second@essentiels.localhost", password=PASSWORD
    )
    staff = client.__class__()
    staff.force_login(other)
    changelist = staff.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200
    assert "chef@essentiels.localhost" in changelist.content.decode()
    response = staff.post(
        "/admin/axes/accessattempt/",
        {
            "action": "unlock",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert "débloqué" in response.content.decode()
    # then the chef signs in again at once
    assert not AccessAttempt.objects.exists()
    assert admin_login(client, PASSWORD).status_code == 302


# --- when Redis is down --------------------------------------------------------------------------


def test_login_and_locks_work_while_redis_is_down(client, settings, shopper):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    # a shopper signs in (sessions fall back to the database)
    assert shop_login(client, "lea@example.fr", PASSWORD, ip=VICTIM).status_code == 302
    # and an attacker is still locked (failures are in PostgreSQL)
    fail(client, "lea@example.fr", 5)
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 429


# --- behind nginx -----------------------------------------------------------------------------


def test_behind_the_proxy_each_client_address_is_counted_apart(client, settings, shopper):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # given an attacker locked out through nginx (which wrote their address in X-Forwarded-For)
    fail(client, "lea@example.fr", 5, ip="127.0.0.1", HTTP_X_FORWARDED_FOR=ATTACKER)
    assert AccessAttempt.objects.get().ip_address == ATTACKER
    # then Léa, also through nginx, from her own address, signs in
    response = shop_login(
        client, "lea@example.fr", PASSWORD, ip="127.0.0.1", HTTP_X_FORWARDED_FOR=VICTIM
    )
    assert response.status_code == 302


def test_a_forged_forwarded_for_from_outside_the_proxy_is_ignored(client, settings, shopper):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # an attacker reaching the app directly writes a new address in each request
    for n in range(5):
        shop_login(
            client, "lea@example.fr", "faux", ip=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        )
    # but is counted under their real address, and locked
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    assert shop_login(client, "lea@example.fr", PASSWORD).status_code == 429
