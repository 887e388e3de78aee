import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser(
        username="chef", email="chef@essentiels.localhost", password="un-mot-de-passe-solide"
    )


def test_admin_logs_in_to_django_admin_and_oscar_dashboard(client, superuser):
    # when the admin signs in through the admin's own login form, with their email
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "chef@essentiels.localhost", "password": "un-mot-de-passe-solide"},
    )
    assert response.status_code == 302
    # then Django admin and Oscar's dashboard both open, in French
    admin_page = client.get("/admin/")
    assert admin_page.status_code == 200
    assert "Site d’administration" in admin_page.content.decode()
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200
    assert "Tableau de bord" in dashboard.content.decode()


def test_anonymous_visitor_is_sent_to_login(client):
    assert client.get("/admin/").status_code == 302
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_wrong_password_is_refused_with_a_french_message(client, superuser):
    response = client.post(
        "/admin/login/", {"username": "chef@essentiels.localhost", "password": "faux"}
    )
    assert response.status_code == 200
    assert "<title>Erreur" in response.content.decode()
