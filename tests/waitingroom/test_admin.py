"""Ops steer the room live from the admin (saved, audited, mirrored into Redis); customer care
flags priority customers and creates priority codes; neither can do the other's job."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from essentiels.roles import CUSTOMER_CARE_GROUP
from tests.waitingroom.conftest import visitor_id
from waitingroom.models import (
    PriorityCode,
    PriorityShopper,
    WaitingRoomSettings,
    WaitingRoomSettingsChange,
)
from waitingroom.priority import priority_code_redeem
from waitingroom.store import Keys

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/admin/waitingroom/waitingroomsettings/"


def staff_in(group: str, django_user_model, name: str) -> Client:
    user = django_user_model.objects.create_user(
        name, f"{name}@essentiels.localhost", "x", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


def test_ops_change_the_limits_live_and_the_change_is_recorded(
    room, django_user_model, django_capture_on_commit_callbacks
):
    ops = staff_in("Ops", django_user_model, "ops")
    # the list goes straight to the one settings page, which shows the room now
    response = ops.get(SETTINGS_URL)
    assert response.status_code == 302
    page = ops.get(response["Location"])
    assert page.status_code == 200
    assert "clients actifs" in page.content.decode()
    # when ops lower the cap to one shopper
    with django_capture_on_commit_callbacks(execute=True):
        saved = ops.post(
            response["Location"],
            {"enabled": "on", "admit_per_minute": "90", "max_active": "1", "idle_minutes": "15"},
        )
    assert saved.status_code == 302
    # then it is saved, audited (who, before, after) and in Redis for the middleware at once
    row = WaitingRoomSettings.objects.get()
    assert (row.admit_per_minute, row.max_active, row.idle_minutes) == (90, 1, 15)
    change = WaitingRoomSettingsChange.objects.get()
    assert change.changed_by.username == "ops"
    assert change.after["max_active"] == 1
    assert change.before["max_active"] == 500
    assert room.redis().hget(Keys.settings, "max_active") == b"1"
    assert room.redis().hget(Keys.settings, "idle_ms") == str(15 * 60 * 1000).encode()
    assert room.visit(visitor_id("a"), at_ms=None).state == "admitted"
    assert room.visit(visitor_id("b"), at_ms=None).state == "queued"
    # and switching it off lets everybody in
    with django_capture_on_commit_callbacks(execute=True):
        ops.post(
            response["Location"],
            {"admit_per_minute": "90", "max_active": "1", "idle_minutes": "15"},
        )
    assert room.visit(visitor_id("b"), at_ms=None).state == "open"
    assert WaitingRoomSettingsChange.objects.count() == 2


def test_a_bad_value_is_refused_on_its_field(room, django_user_model):
    ops = staff_in("Ops", django_user_model, "ops")
    url = ops.get(SETTINGS_URL)["Location"]
    response = ops.post(
        url, {"enabled": "on", "admit_per_minute": "-5", "max_active": "x", "idle_minutes": "0"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"admit_per_minute", "max_active", "idle_minutes"}
    assert not WaitingRoomSettingsChange.objects.exists()


def test_customer_care_cannot_change_the_room_and_ops_cannot_flag_customers(
    room, django_user_model
):
    care = staff_in(CUSTOMER_CARE_GROUP, django_user_model, "care")
    ops = staff_in("Ops", django_user_model, "ops")
    assert care.get(f"{SETTINGS_URL}1/change/").status_code == 403
    assert ops.get("/admin/waitingroom/priorityshopper/add/").status_code == 403
    assert ops.get("/admin/waitingroom/prioritycode/add/").status_code == 403


def test_customer_care_flags_a_customer_by_email(room, django_user_model):
    customer = django_user_model.objects.create_user("mme-l", "Mme.L@example.org", "x")
    care = staff_in(CUSTOMER_CARE_GROUP, django_user_model, "care")
    unknown = care.post(
        "/admin/waitingroom/priorityshopper/add/",
        {"email": "nobody@example.org", "until": "", "note": ""},
    )
    assert unknown.status_code == 200
    assert "email" in unknown.context["adminform"].form.errors
    response = care.post(
        "/admin/waitingroom/priorityshopper/add/",
        {"email": "mme.l@example.org", "until": "", "note": "appel de sa fille"},
    )
    assert response.status_code == 302
    flag = PriorityShopper.objects.get()
    assert flag.user == customer
    assert flag.created_by.username == "care"


def test_customer_care_creates_a_code_shown_once(room, django_user_model):
    care = staff_in(CUSTOMER_CARE_GROUP, django_user_model, "care")
    response = care.post(
        "/admin/waitingroom/prioritycode/add/",
        {
            "label": "CCAS Paris 13e",
            "max_uses": "20",
            "expires_at_0": "31/12/2099",
            "expires_at_1": "12:00",
        },
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    shown = re.search(r"([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})", html).group(1)
    code = PriorityCode.objects.get()
    assert code.created_by.username == "care"
    assert code.hint == shown[-4:]
    # the code works, and its page never shows it again
    priority_code_redeem(code=shown, visitor="visitor-admin-test-01")
    again = care.get(f"/admin/waitingroom/prioritycode/{code.pk}/change/").content.decode()
    assert shown not in again
    assert "visitor-admin-test-01" in again


def test_the_mirror_task_puts_settings_lost_by_redis_back(room):
    from waitingroom.tasks import waiting_room_settings_mirror_task

    WaitingRoomSettings.objects.create(
        pk=1, enabled=True, admit_per_minute=7, max_active=3, idle_minutes=4
    )
    room.redis().delete(Keys.settings)
    assert waiting_room_settings_mirror_task() is True
    assert room.redis().hget(Keys.settings, "max_active") == b"3"
    assert room.redis().hget(Keys.settings, "admit_per_minute") == b"7"


def test_ops_and_customer_care_groups_get_exactly_their_room_rights():
    ops = set(Group.objects.get(name="Ops").permissions.values_list("codename", flat=True))
    care = set(
        Group.objects.get(name=CUSTOMER_CARE_GROUP).permissions.values_list("codename", flat=True)
    )
    assert {"change_waitingroomsettings", "view_waitingroomsettingschange"} <= ops
    assert not {c for c in ops if "priority" in c}
    assert {"add_priorityshopper", "add_prioritycode", "view_prioritycoderedemption"} <= care
    assert not {c for c in care if "waitingroomsettings" in c}
