from __future__ import annotations

import pytest
from oscar.test.factories import UserFactory

PASSWORD = "un-mot-de-passe-solide"


@pytest.fixture
def lea(db):
    return UserFactory(
        email="lea@example.fr", first_name="Léa", last_name="Martin", password=PASSWORD
    )


@pytest.fixture
def signed_in(client, lea):
    client.force_login(lea)
    return client
