from __future__ import annotations

from datetime import date

from django.db import models


class DistrictQuerySet(models.QuerySet):
    def open(self) -> DistrictQuerySet:
        return self.filter(is_active=True)

    def delivering_on(self, weekday: int) -> DistrictQuerySet:
        return self.open().filter(weekday=weekday)

    def for_postcode(self, code: str) -> DistrictQuerySet:
        return self.filter(postcodes__code=code).distinct()


class DeliveryDateQuerySet(models.QuerySet):
    def from_date(self, day: date) -> DeliveryDateQuerySet:
        return self.filter(date__gte=day)

    def with_room_for(self, quantity: int) -> DeliveryDateQuerySet:
        return self.filter(booked__lte=models.F("capacity") - quantity)


class OrderDeliveryQuerySet(models.QuerySet):
    def booked(self) -> OrderDeliveryQuerySet:
        return self.filter(status="booked")

    def upcoming(self, *, today: date) -> OrderDeliveryQuerySet:
        return self.booked().filter(delivery_date__gte=today)
