"""Changing a district's weekday or capacity, or closing a date, and moving the bookings it hits.

Ops first see the plan (``district_reschedule_plan``, read-only), then confirm; a Celery task
then runs ``district_reschedule`` (one transaction: the new settings and every move, or
nothing) and ``delivery_moves_notify`` (one email per moved order, exactly once).

Rules of a move:
- a booking on a date that is no longer a delivery day (other weekday, closed date) moves;
- on a date whose capacity is now below what is booked, the latest bookings move first
  (first come, first kept);
- a booking moves to the first delivery date of the new schedule *after* its current date that
  is still orderable (cutoff honoured) and has room: never earlier than the shopper was told;
- when some booking finds no room within the horizon, nothing changes at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from delivery.calendar import closed_dates, delivery_dates_upcoming, is_delivery_day, local_today
from delivery.models import DeliveryDate, DeliveryMove, District, OrderDelivery


class RescheduleImpossibleError(Exception):
    """Some bookings would find no delivery date with room: the change would overbook."""

    def __init__(self, unplaced: int, district: District):
        self.unplaced = unplaced
        super().__init__(
            _(
                "%(count)s order(s) in %(district)s would find no delivery date with room in "
                "the next %(weeks)s weeks: raise the capacity or choose another weekday. "
                "Nothing was changed."
            )
            % {
                "count": unplaced,
                "district": district.short_name,
                "weeks": settings.DELIVERY_HORIZON_WEEKS,
            }
        )


@dataclass(frozen=True)
class PlannedMove:
    order_delivery_id: int
    order_number: str
    email: str
    baskets: int
    from_date: date
    to_date: date
    reason: DeliveryMove.Reason


@dataclass
class ReschedulePlan:
    district: District
    weekday: int | None
    capacity: int
    moves: list[PlannedMove] = field(default_factory=list)
    # Final (capacity, booked) of every upcoming date touched, by date.
    dates: dict[date, tuple[int, int]] = field(default_factory=dict)


def _plan(
    *,
    district: District,
    weekday: int | None,
    capacity: int,
    now: datetime,
    rows: list[DeliveryDate],
    bookings: list[OrderDelivery],
) -> ReschedulePlan:
    today = local_today(now=now)
    plan = ReschedulePlan(district=district, weekday=weekday, capacity=capacity)
    # A new district capacity applies to every upcoming date; otherwise a date keeps its own.
    keep_own = capacity == district.capacity
    state: dict[date, list[int]] = {
        row.date: [row.capacity if keep_own else capacity, row.booked] for row in rows
    }
    if not bookings:
        plan.dates = {day: (cap, booked) for day, (cap, booked) in state.items()}
        return plan
    targets = delivery_dates_upcoming(district=district, now=now, weekday=weekday)
    last = max([b.delivery_date for b in bookings] + targets)
    closed = closed_dates(district_id=district.pk, start=today, end=last)
    by_date: dict[date, list[OrderDelivery]] = {}
    for booking in sorted(bookings, key=lambda b: (b.delivery_date, b.pk)):
        by_date.setdefault(booking.delivery_date, []).append(booking)

    unplaced = 0
    for day in sorted(by_date):
        group = by_date[day]
        cell = state.setdefault(day, [capacity, sum(b.baskets for b in group)])
        if not is_delivery_day(district=district, day=day, closed=closed, weekday=weekday):
            reason = (
                DeliveryMove.Reason.WEEKDAY_CHANGED
                if day.weekday() != weekday
                else DeliveryMove.Reason.DATE_CLOSED
            )
            movers = list(group)
        else:
            reason = DeliveryMove.Reason.CAPACITY_LOWERED
            movers = []
            for booking in reversed(group):  # latest booked moves first
                if cell[1] - sum(m.baskets for m in movers) <= cell[0]:
                    break
                movers.append(booking)
            movers.reverse()
        for booking in movers:
            cell[1] -= booking.baskets
            target = next(
                (
                    t
                    for t in targets
                    if t > day
                    and state.setdefault(t, [capacity, 0])[1] + booking.baskets <= state[t][0]
                ),
                None,
            )
            if target is None:
                unplaced += 1
                continue
            state[target][1] += booking.baskets
            plan.moves.append(
                PlannedMove(
                    order_delivery_id=booking.pk,
                    order_number=booking.order.number,
                    email=booking.order.email,
                    baskets=booking.baskets,
                    from_date=day,
                    to_date=target,
                    reason=reason,
                )
            )
    if unplaced:
        raise RescheduleImpossibleError(unplaced, district)
    plan.dates = {day: (cap, booked) for day, (cap, booked) in state.items()}
    return plan


def _upcoming(*, district_id: int, today: date, lock: bool):
    rows = DeliveryDate.objects.filter(district_id=district_id, date__gte=today).order_by("pk")
    bookings = (
        OrderDelivery.objects.upcoming(today=today)
        .filter(district_id=district_id)
        .select_related("order", "order__user")
        .order_by("pk")
    )
    if lock:
        rows = rows.select_for_update()
        bookings = bookings.select_for_update(of=("self",))
    return list(rows), list(bookings)


def district_reschedule_plan(
    *,
    district_id: int,
    weekday: int | None,
    capacity: int,
    now: datetime | None = None,
) -> ReschedulePlan:
    """What would move if the district were delivered on ``weekday`` with ``capacity`` (read).

    Raises RescheduleImpossibleError when it would overbook.
    """
    now = now or timezone.now()
    district = District.objects.get(pk=district_id)
    rows, bookings = _upcoming(district_id=district_id, today=local_today(now=now), lock=False)
    return _plan(
        district=district,
        weekday=weekday,
        capacity=capacity,
        now=now,
        rows=rows,
        bookings=bookings,
    )


@transaction.atomic
def district_reschedule(
    *,
    district_id: int,
    weekday: int | None = None,
    capacity: int | None = None,
    now: datetime | None = None,
) -> list[DeliveryMove]:
    """Apply a weekday/capacity change (None: keep) and move the bookings it hits, atomically.

    Re-plans on the rows as they are now (locked), so it is safe to run twice: a second run
    finds nothing left to move. Also re-checks bookings against closed dates added since.
    """
    now = now or timezone.now()
    # Locks in a fixed order (district, then its dates by pk, then bookings by pk), the same in
    # every reschedule, so two of them cannot deadlock; bookings in flight hold a share lock on
    # the district, so this waits for them and later ones see the new weekday.
    district = District.objects.select_for_update().get(pk=district_id)
    weekday = district.weekday if weekday is None else weekday
    capacity = district.capacity if capacity is None else capacity
    rows, bookings = _upcoming(district_id=district_id, today=local_today(now=now), lock=True)
    plan = _plan(
        district=district,
        weekday=weekday,
        capacity=capacity,
        now=now,
        rows=rows,
        bookings=bookings,
    )

    district.weekday = weekday
    district.capacity = capacity
    district.save(update_fields=["weekday", "capacity", "updated_at"])

    existing = {row.date: row for row in rows}
    for day, (cap, booked) in plan.dates.items():
        row = existing.get(day)
        if row is None:
            DeliveryDate.objects.create(district=district, date=day, capacity=cap, booked=booked)
        elif (row.capacity, row.booked) != (cap, booked):
            # One UPDATE per row with both final values: the CHECK holds row by row.
            DeliveryDate.objects.filter(pk=row.pk).update(
                capacity=cap, booked=booked, updated_at=now
            )

    moves = []
    for move in plan.moves:
        OrderDelivery.objects.filter(pk=move.order_delivery_id).update(
            delivery_date=move.to_date, updated_at=now
        )
        moves.append(
            DeliveryMove(
                order_delivery_id=move.order_delivery_id,
                from_date=move.from_date,
                to_date=move.to_date,
                reason=move.reason,
            )
        )
    return DeliveryMove.objects.bulk_create(moves)


def delivery_moves_notify(*, limit: int = 500) -> int:
    """Email each shopper whose delivery moved and was not told yet. Returns emails sent.

    Each move is claimed under a row lock (SKIP LOCKED, so two workers share the work) and
    marked notified in the same transaction as its email is sent.
    """
    sent = 0
    pending = DeliveryMove.objects.filter(notified_at__isnull=True).order_by("pk")
    for move_id in list(pending.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            move = (
                DeliveryMove.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("order_delivery__order", "order_delivery__district")
                .filter(pk=move_id, notified_at__isnull=True)
                .first()
            )
            if move is None:
                continue
            _send_move_email(move=move)
            move.notified_at = timezone.now()
            move.save(update_fields=["notified_at"])
            sent += 1
    return sent


def _send_move_email(*, move: DeliveryMove) -> None:
    order = move.order_delivery.order
    if not order.email:
        return
    context = {
        "order": order,
        "district": move.order_delivery.district,
        "move": move,
        "shop_name": settings.OSCAR_SHOP_NAME,
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("delivery/email/delivery_moved_subject.txt", context)
        body = render_to_string("delivery/email/delivery_moved_body.txt", context)
    send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [order.email])
