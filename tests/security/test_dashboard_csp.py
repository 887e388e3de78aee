"""Oscar's dashboard under the Content-Security-Policy: every inline event handler on the pages
staff use is one the policy allows by its hash, and the product image upload (whose handlers Oscar
writes inline with the widget's id, so no hash can allow them) works from a static script."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from oscar.test import factories as oscar

from tests.security.test_headers import policy

pytestmark = pytest.mark.django_db

HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def inline_handlers(body: str) -> list[str]:
    """The text of every inline event handler attribute, as the browser hashes it."""
    return [html.unescape(double or single) for double, single in HANDLER.findall(body)]


def source_of(handler: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(handler.encode()).digest()).decode()}'"


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(oscar.UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def catalogue():
    """A product class with an attribute option group and an option, a product with one image,
    a partner: one row for each dashboard page below."""
    product_class = oscar.ProductClassFactory(name="Panier", slug="panier")
    product = oscar.ProductFactory(product_class=product_class, stockrecords=[])
    oscar.ProductImageFactory(product=product)
    return {
        "product_class": product_class,
        "product": product,
        "group": oscar.AttributeOptionGroupFactory(),
        "option": oscar.OptionFactory(),
        "partner": oscar.PartnerFactory(),
    }


# The dashboard pages whose templates (or widgets) carry inline handlers, with "?_popup=1" where
# Oscar then writes a different one (closing the popup instead of going back).
PAGES = {
    "product_create": lambda c: reverse(
        "dashboard:catalogue-product-create", kwargs={"product_class_slug": "panier"}
    ),
    "product_update": lambda c: reverse("dashboard:catalogue-product", args=[c["product"].pk]),
    "product_class_create": lambda c: reverse("dashboard:catalogue-class-create"),
    "product_class_update": lambda c: reverse(
        "dashboard:catalogue-class-update", args=[c["product_class"].pk]
    ),
    "option_group_create": lambda c: reverse("dashboard:catalogue-attribute-option-group-create"),
    "option_group_create_popup": lambda c: reverse(
        "dashboard:catalogue-attribute-option-group-create"
    )
    + "?_popup=1",
    "option_group_delete_popup": lambda c: reverse(
        "dashboard:catalogue-attribute-option-group-delete", args=[c["group"].pk]
    )
    + "?_popup=1",
    "option_create": lambda c: reverse("dashboard:catalogue-option-create"),
    "option_update_popup": lambda c: reverse(
        "dashboard:catalogue-option-update", args=[c["option"].pk]
    )
    + "?_popup=1",
    "partner_create": lambda c: reverse("dashboard:partner-create"),
    "partner_manage": lambda c: reverse("dashboard:partner-manage", args=[c["partner"].pk]),
}


@pytest.mark.parametrize("page", PAGES)
def test_every_inline_handler_of_the_dashboard_is_allowed_by_its_hash(
    staff_client, catalogue, page
):
    # given a dashboard page staff open
    response = staff_client.get(PAGES[page](catalogue))
    assert response.status_code == 200
    # then each inline handler on it is allowed, exactly, by the policy served with it
    script_src = policy(response)["script-src"]
    assert "'unsafe-hashes'" in script_src
    handlers = inline_handlers(response.content.decode())
    blocked = [handler for handler in handlers if source_of(handler) not in script_src]
    assert not blocked, f"inline handlers the policy blocks on {page}: {blocked}"


def test_the_handlers_seen_are_the_ones_oscar_writes(staff_client, catalogue):
    # the pages above do hold handlers (the check is not vacuous): going back, closing a popup
    seen = set()
    for page in PAGES.values():
        seen.update(inline_handlers(staff_client.get(page(catalogue)).content.decode()))
    assert {"window.history.go(-1);return false", "window.close();return false;"} <= seen


@pytest.mark.parametrize("page", ["product_create", "product_update"])
def test_the_image_upload_widget_has_no_inline_handler_and_its_script_is_loaded(
    staff_client, catalogue, page
):
    body = staff_client.get(PAGES[page](catalogue)).content.decode()
    # the empty image forms show a preview handled by the static script, not by attributes
    assert 'id="upload_button_id_images-' in body
    assert "data-upload-preview" in body
    assert "Type d&#x27;image non reconnu" in body or "Type d'image non reconnu" in body
    assert "onload=" not in body
    assert "onerror=" not in body
    assert f'<script src="{settings.STATIC_URL}dashboard/image_input.js"></script>' in body


# --- In Chromium ----------------------------------------------------------------------------


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (8, 8), "orange").save(path, "PNG")
    return path


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_choosing_an_image_shows_it_and_hides_the_upload_button(live_server, page, tmp_path):
    """``page`` fails the test on anything the policy blocked (tests/conftest.py)."""
    oscar.ProductClassFactory(name="Panier", slug="panier")
    staff = Client()
    staff.force_login(oscar.UserFactory(is_staff=True, is_superuser=True))
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": staff.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    url = reverse("dashboard:catalogue-product-create", kwargs={"product_class_slug": "panier"})
    page.goto(f"{live_server.url}{url}")
    page.click("a[href='#product_images']")
    button = page.locator("#upload_button_id_images-0-original-image")
    assert button.is_visible()
    # when staff choose a picture for the first image
    page.set_input_files("#id_images-0-original", str(_png(tmp_path / "riz.png")))
    # then it shows, and its upload button goes
    page.wait_for_function(
        "document.querySelector('#id_images-0-original-image img').src.startsWith('data:image')"
    )
    button.wait_for(state="hidden", timeout=5_000)
    preview = page.locator("#id_images-0-original-image img")
    assert preview.get_attribute("src").startswith("data:image/png")
    # and a file that is no picture brings the button back, saying why
    text = tmp_path / "pas-une-image.png"
    text.write_text("ceci n'est pas une image")
    with page.expect_event("dialog", timeout=5_000) as alert:
        page.set_input_files("#id_images-0-original", str(text))
    message = alert.value.message
    alert.value.accept()
    assert message == "Type d'image non reconnu !"
    button.wait_for(state="visible", timeout=5_000)
