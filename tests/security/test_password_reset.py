"""Password reset tells nobody whether an email has an account: same answer, same work in the
request (the email is sent by a worker), and mail only to a real account."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.test.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True


def ask_reset(client, email: str, capture):
    with CaptureQueriesContext(connection) as queries, capture(execute=False) as callbacks:
        response = client.post(reverse("password-reset"), {"email": email})
    return response, queries, callbacks


def strip_tokens(page: bytes) -> bytes:
    # The CSRF token and the CSP nonce differ between any two responses; the rest must not.
    page = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", page)
    return re.sub(rb'nonce="[^"]+"', b"", page)


def test_known_and_unknown_emails_get_the_same_answer_after_the_same_work(
    client, django_capture_on_commit_callbacks, eager
):
    UserFactory(email="lea@example.fr")
    known, known_queries, known_after = ask_reset(
        client, "lea@example.fr", django_capture_on_commit_callbacks
    )
    unknown, unknown_queries, unknown_after = ask_reset(
        client, "personne@example.fr", django_capture_on_commit_callbacks
    )
    # the same redirect to the same page
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password-reset-done")
    assert known.cookies.keys() == unknown.cookies.keys()
    done_known = client.get(known["Location"]).content
    done_unknown = client.get(unknown["Location"]).content
    assert strip_tokens(done_known) == strip_tokens(done_unknown)
    # the request never looked for the account (so it cannot take longer for a real one), and
    # left the same single job for a worker
    for queries in (known_queries, unknown_queries):
        assert not [q["sql"] for q in queries if '"auth_user"' in q["sql"]]
    assert len(known_queries) == len(unknown_queries)
    assert len(known_after) == len(unknown_after) == 1
    assert mail.outbox == []
    # when the worker runs both jobs, only the account's owner gets an email
    for callback in (*known_after, *unknown_after):
        callback()
    assert [m.to for m in mail.outbox] == [["lea@example.fr"]]
    assert "/password-reset/confirm/" in mail.outbox[0].body


def test_an_inactive_account_is_not_revealed_either(
    client, django_capture_on_commit_callbacks, eager
):
    UserFactory(email="parti@example.fr", is_active=False)
    response, _queries, callbacks = ask_reset(
        client, "parti@example.fr", django_capture_on_commit_callbacks
    )
    assert response["Location"] == reverse("password-reset-done")
    for callback in callbacks:
        callback()
    assert mail.outbox == []


def test_the_link_works(client, django_capture_on_commit_callbacks, eager):
    user = UserFactory(email="lea@example.fr")
    _response, _queries, callbacks = ask_reset(
        client, "LEA@example.fr", django_capture_on_commit_callbacks
    )
    for callback in callbacks:
        callback()
    link = re.search(r"(/password-reset/confirm/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"new_password1": "un-nouveau-mot-de-passe", "new_password2": "un-nouveau-mot-de-passe"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("un-nouveau-mot-de-passe")
