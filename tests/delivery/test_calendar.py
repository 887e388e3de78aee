from datetime import date, timedelta

import pytest

from delivery.calendar import delivery_cutoff, delivery_dates_upcoming
from delivery.models import Weekday
from tests.delivery.conftest import paris
from tests.delivery.factories import ClosedDateFactory, DistrictFactory, paris_13e

pytestmark = pytest.mark.django_db


def test_cutoff_is_48_hours_before_at_noon_paris_time():
    # given a Tuesday delivery
    cutoff = delivery_cutoff(day=date(2026, 12, 1))
    # then orders close on the Sunday before at 12:00 Paris time
    assert cutoff == paris(2026, 11, 29, 12, 0)


def test_cutoff_follows_the_wall_clock_across_a_daylight_saving_change():
    # given a Tuesday right after the clocks go back (Sunday 25 October 2026)
    cutoff = delivery_cutoff(day=date(2026, 10, 27))
    # then the cutoff is still Sunday 12:00 local time (UTC+1 by then)
    assert cutoff == paris(2026, 10, 25, 12, 0)
    assert cutoff.utcoffset() == timedelta(hours=1)


def test_one_minute_before_the_cutoff_the_next_tuesday_is_still_orderable():
    district = paris_13e()
    days = delivery_dates_upcoming(district=district, now=paris(2026, 11, 29, 11, 59), count=2)
    assert days == [date(2026, 12, 1), date(2026, 12, 8)]


def test_at_the_cutoff_the_order_goes_to_the_following_week():
    district = paris_13e()
    days = delivery_dates_upcoming(district=district, now=paris(2026, 11, 29, 12, 0), count=1)
    assert days == [date(2026, 12, 8)]


def test_cutoff_setting_is_honoured(settings):
    # given a 24-hour cutoff at 18:00
    settings.DELIVERY_CUTOFF_HOURS_BEFORE = 24
    settings.DELIVERY_CUTOFF_TIME = "18:00"
    district = paris_13e()
    # then on Sunday at noon the Tuesday is still open, and closes Monday 18:00
    assert delivery_dates_upcoming(district=district, now=paris(2026, 11, 29, 12), count=1) == [
        date(2026, 12, 1)
    ]
    assert delivery_dates_upcoming(district=district, now=paris(2026, 11, 30, 18), count=1) == [
        date(2026, 12, 8)
    ]


def test_public_holidays_skip_that_weeks_delivery():
    # given a district delivered on Fridays, before Christmas 2026 and New Year 2027 (Fridays)
    district = DistrictFactory(weekday=Weekday.FRIDAY, postcodes=["93100"])
    # when we list the next dates
    days = delivery_dates_upcoming(district=district, now=paris(2026, 12, 20, 10), count=2)
    # then 25 December and 1 January are skipped
    assert days == [date(2027, 1, 8), date(2027, 1, 15)]


def test_holidays_can_be_switched_off(settings):
    settings.DELIVERY_SKIP_PUBLIC_HOLIDAYS = False
    district = DistrictFactory(weekday=Weekday.FRIDAY, postcodes=["93100"])
    days = delivery_dates_upcoming(district=district, now=paris(2026, 12, 20, 10), count=1)
    assert days == [date(2026, 12, 25)]


def test_closed_dates_for_the_district_and_for_everyone_are_skipped():
    # given Paris 13e closed on 8 December, and every district on 15 December
    district = paris_13e()
    ClosedDateFactory(district=district, date=date(2026, 12, 8))
    ClosedDateFactory(district=None, date=date(2026, 12, 15))
    # and another district closed on 22 December (does not concern Paris 13e)
    ClosedDateFactory(district=DistrictFactory(postcodes=["94300"]), date=date(2026, 12, 22))
    # then
    days = delivery_dates_upcoming(district=district, now=paris(2026, 11, 23, 9), count=4)
    assert days == [date(2026, 12, 1), date(2026, 12, 22), date(2026, 12, 29), date(2027, 1, 5)]


def test_nothing_before_the_opening_date():
    district = paris_13e(opens_on=date(2026, 12, 10))
    days = delivery_dates_upcoming(district=district, now=paris(2026, 11, 23, 9), count=1)
    assert days == [date(2026, 12, 15)]


def test_a_district_without_weekday_has_no_dates():
    district = DistrictFactory(weekday=None, is_active=False, postcodes=["92100"])
    assert delivery_dates_upcoming(district=district, now=paris(2026, 11, 23, 9)) == []


def test_dates_stop_at_the_horizon(settings):
    settings.DELIVERY_HORIZON_WEEKS = 3
    district = paris_13e()
    # when asked on Monday 23 November (Tuesday 24th's cutoff has passed)
    days = delivery_dates_upcoming(district=district, now=paris(2026, 11, 23, 9))
    # then only the dates up to three weeks ahead come
    assert days == [date(2026, 12, 1), date(2026, 12, 8)]
