"""Admission: who is let in, who waits and where, decided atomically in Redis.

One Lua script (``ADMIT``) does a visit from start to end, so two app servers can never admit
more than the limits allow: Redis runs scripts one at a time. State (``store.Keys``):

- ``active``: admitted shoppers → last seen (ms). A shopper unseen for ``idle_minutes`` is
  dropped, which frees a slot; every request of an admitted shopper slides that expiry.
- ``priority`` and ``queue``: the two lanes, visitor → arrival ticket (one counter for both);
  ``seen``: when each queued visitor last polled. One unseen for the queue timeout has left.
- ``bucket``: a token bucket for the admission rate (``admit_per_minute``, bursts of
  ``burst_seconds()`` worth); ``admissions``: admission times of the last 5 minutes.

A visit: an admitted shopper is touched and let through (2 commands, the fast path). Anyone else
is placed in their lane if not there yet (a priority visitor found in the normal lane moves to
the priority lane), then the heads of the lanes are admitted: the priority lane while there is a
free slot (the rate does not hold it back), then the normal lane while there is a free slot and
a token. A newcomer therefore gets in at once only when nobody waits ahead of them, and queued
visitors are admitted in ticket order, priority lane first, whoever's request does the work.
Time is Redis's own clock (``TIME``), the same for every app server; tests pass it explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from django.conf import settings

from waitingroom.store import Keys, redis_call

# The rate limit lets this many seconds' worth of admissions through at once — at least one
# refresh of the queue page (plus a margin): admissions happen when queued visitors poll, so a
# smaller bucket would overflow between two polls and admit below the configured rate (the
# surge benchmark saw 92 a minute for 120 with a 10 s bucket and a 20 s refresh).
BURST_SECONDS = 10


def burst_seconds() -> int:
    return max(BURST_SECONDS, settings.WAITING_ROOM_REFRESH_SECONDS + 5)


# A script call admits at most this many visitors (bounds its run time).
MAX_ADMISSIONS_PER_CALL = 200
# Admissions are counted over this window for the observed rate.
ADMISSIONS_WINDOW_MS = 5 * 60 * 1000

ADMIT = """
local cfg = redis.call('HMGET', KEYS[1], 'enabled', 'admit_per_minute', 'max_active', 'idle_ms')
if not cfg[1] then return {'noconfig'} end
if cfg[1] ~= '1' then return {'open'} end
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local visitor = ARGV[1]
local rate = tonumber(cfg[2])
local cap = tonumber(cfg[3])
local idle = tonumber(cfg[4])
local timeout = tonumber(ARGV[4])
local max_admit = tonumber(ARGV[5])

-- Fast path: an admitted shopper, still active.
local last = redis.call('ZSCORE', KEYS[2], visitor)
if last and tonumber(last) > now - idle then
  redis.call('ZADD', KEYS[2], now, visitor)
  return {'admitted'}
end

-- Idle shoppers free their slot; queued visitors unseen for too long have left.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - idle)
local gone = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - timeout, 'LIMIT', 0, 500)
if #gone > 0 then
  redis.call('ZREM', KEYS[5], unpack(gone))
  redis.call('ZREM', KEYS[3], unpack(gone))
  redis.call('ZREM', KEYS[4], unpack(gone))
end

-- The visitor takes (or keeps) their place. A newcomer who showed no token yet (ARGV[8]) gets
-- no ticket unless let in at once: a client that keeps no cookie never fills the queue.
local wants_priority = ARGV[2] == '1'
local in_priority = redis.call('ZSCORE', KEYS[4], visitor)
local in_queue = redis.call('ZSCORE', KEYS[3], visitor)
local ticketless = ARGV[8] == '1' and not in_priority and not in_queue
if wants_priority and in_queue then
  redis.call('ZREM', KEYS[3], visitor)
  in_queue = false
end
if ticketless then
  -- decided after the heads of the lanes are served
elseif wants_priority and not in_priority then
  redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[6]), visitor)
  redis.call('HINCRBY', KEYS[9], 'arrivals_priority', 1)
elseif not in_priority and not in_queue then
  redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[6]), visitor)
  redis.call('HINCRBY', KEYS[9], 'arrivals', 1)
end
if not ticketless then redis.call('ZADD', KEYS[5], now, visitor) end

-- The rate's token bucket, refilled for the time gone by.
local burst = 0
if rate > 0 then burst = math.max(1, rate * tonumber(ARGV[6]) / 60) end
local bucket = redis.call('HMGET', KEYS[7], 'tokens', 'ts')
local tokens = tonumber(bucket[1])
local ts = tonumber(bucket[2])
if not tokens then tokens = burst; ts = now end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 60000)
  ts = now
end
tokens = math.min(tokens, burst)

-- Admit from the heads of the lanes. Somebody admitted while away keeps the slot only for the
-- queue timeout (or the idle time, if shorter) unless they come back.
local active_n = redis.call('ZCARD', KEYS[2])
local admitted = 0
local grace = now - idle + math.min(timeout, idle)
local function admit(member)
  redis.call('ZREM', KEYS[5], member)
  redis.call('ZADD', KEYS[2], grace, member)
  redis.call('ZADD', KEYS[8], now, member)
  active_n = active_n + 1
  admitted = admitted + 1
end
while active_n < cap and admitted < max_admit do
  local head = redis.call('ZPOPMIN', KEYS[4])
  if #head == 0 then break end
  admit(head[1])
  redis.call('HINCRBY', KEYS[9], 'admitted_priority', 1)
  if tokens >= 1 then tokens = tokens - 1 end
end
while active_n < cap and tokens >= 1 and admitted < max_admit do
  local head = redis.call('ZPOPMIN', KEYS[3])
  if #head == 0 then break end
  admit(head[1])
  tokens = tokens - 1
end
local ahead = 0
if ticketless then
  ahead = redis.call('ZCARD', KEYS[4])
  if not wants_priority then ahead = ahead + redis.call('ZCARD', KEYS[3]) end
  if ahead == 0 and active_n < cap and (wants_priority or tokens >= 1) then
    admit(visitor)
    if tokens >= 1 then tokens = tokens - 1 end
    ticketless = false
  end
end
redis.call('HSET', KEYS[7], 'tokens', tostring(tokens), 'ts', ts)
if admitted > 0 then
  redis.call('HINCRBY', KEYS[9], 'admitted', admitted)
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - tonumber(ARGV[7]))
end

if redis.call('ZSCORE', KEYS[2], visitor) then
  redis.call('ZADD', KEYS[2], now, visitor)
  return {'admitted'}
end
local recent = redis.call('ZCOUNT', KEYS[8], now - tonumber(ARGV[7]), '+inf')
local lane = 'normal'
if wants_priority then lane = 'priority' end
if ticketless then return {'queued', ahead + 1, lane, rate, recent} end
local rank = redis.call('ZRANK', KEYS[4], visitor)
if rank then
  return {'queued', rank + 1, 'priority', rate, recent}
end
rank = redis.call('ZRANK', KEYS[3], visitor)
return {'queued', redis.call('ZCARD', KEYS[4]) + rank + 1, 'normal', rate, recent}
"""

STATUS = """
local cfg = redis.call('HMGET', KEYS[1], 'enabled', 'admit_per_minute', 'max_active', 'idle_ms')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idle = tonumber(cfg[4]) or 0
return {
  cfg[1] or '', cfg[2] or '', cfg[3] or '', cfg[4] or '',
  redis.call('ZCOUNT', KEYS[2], '(' .. (now - idle), '+inf'),
  redis.call('ZCARD', KEYS[3]),
  redis.call('ZCARD', KEYS[4]),
  redis.call('ZCOUNT', KEYS[8], now - 60000, '+inf'),
  redis.call('ZCOUNT', KEYS[8], now - tonumber(ARGV[1]), '+inf'),
  redis.call('HGETALL', KEYS[9]),
}
"""

State = Literal["admitted", "queued", "open", "unavailable"]


@dataclass(frozen=True)
class Decision:
    """The outcome of one visit. ``open``: the room is switched off by ops; ``unavailable``:
    Redis did not answer (failing open). Both let the visitor in."""

    state: State
    position: int = 0
    lane: str = ""
    admit_per_minute: int = 0
    admitted_last_5_minutes: int = 0

    @property
    def is_admitted(self) -> bool:
        return self.state != "queued"

    @property
    def estimated_wait_seconds(self) -> int | None:
        """Position ÷ the admission rate: the configured one, or the observed one over the last
        five minutes when slower (the active-shoppers cap holds it back). None: no estimate."""
        if self.state != "queued":
            return 0
        observed = self.admitted_last_5_minutes / 5
        if self.lane == "priority":
            # Not held back by the rate, only by free slots: as fast as anybody is let in.
            per_minute = observed or float(self.admit_per_minute)
        elif self.admit_per_minute <= 0:
            return None
        else:
            per_minute = min(float(self.admit_per_minute), observed or math.inf)
        if per_minute <= 0:
            return None
        return math.ceil(self.position / per_minute * 60)


UNAVAILABLE = Decision(state="unavailable")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decision(raw: list) -> Decision:
    state = _text(raw[0])
    if state != "queued":
        return Decision(state=state)  # type: ignore[arg-type]
    return Decision(
        state="queued",
        position=int(raw[1]),
        lane=_text(raw[2]),
        admit_per_minute=int(raw[3]),
        admitted_last_5_minutes=int(raw[4]),
    )


def admission_visit(
    *, visitor: str, priority: bool = False, ticketless: bool = False, now_ms: int | None = None
) -> Decision:
    """One request (or poll) of ``visitor``: admitted, or queued with a position.

    ``ticketless``: a newcomer whose token the client has not sent back yet. Let in if nobody
    waits and there is room; otherwise told where they would stand, but given no place until
    they come back with the token (the queue page, right after the redirect).

    One Redis round trip (EVALSHA) in the normal case; Redis down or not configured: the
    ``unavailable`` decision (let in), logged.
    """
    args = [
        visitor,
        "1" if priority else "0",
        "" if now_ms is None else str(now_ms),
        str(settings.WAITING_ROOM_QUEUE_TIMEOUT_SECONDS * 1000),
        str(MAX_ADMISSIONS_PER_CALL),
        str(burst_seconds()),
        str(ADMISSIONS_WINDOW_MS),
        "1" if ticketless else "0",
    ]

    def visit(conn) -> Decision:
        script = conn.register_script(ADMIT)
        raw = script(keys=Keys.room(), args=args, client=conn)
        if _text(raw[0]) == "noconfig":
            # Redis lost the settings (restarted, flushed): copy them from the database once.
            settings_mirror(conn=conn)
            raw = script(keys=Keys.room(), args=args, client=conn)
            if _text(raw[0]) == "noconfig":
                return UNAVAILABLE
        return _decision(raw)

    return redis_call(visit, fallback=UNAVAILABLE, what="admission")


def settings_mirror(*, conn=None, values: dict | None = None) -> bool:
    """Copy the live settings (the saved row, or the defaults) into Redis. False if Redis is
    down. One HSET: the middleware never sees half of a change."""
    if values is None:
        from waitingroom.models import WaitingRoomSettings

        values = WaitingRoomSettings.current().values()
    mapping = {
        "enabled": "1" if values["enabled"] else "0",
        "admit_per_minute": int(values["admit_per_minute"]),
        "max_active": int(values["max_active"]),
        "idle_ms": int(values["idle_minutes"]) * 60 * 1000,
    }
    if conn is not None:
        conn.hset(Keys.settings, mapping=mapping)
        return True

    def write(redis_conn) -> bool:
        redis_conn.hset(Keys.settings, mapping=mapping)
        return True

    return redis_call(write, fallback=False, what="settings mirror")


@dataclass(frozen=True)
class RoomStatus:
    available: bool
    enabled: bool = False
    admit_per_minute: int = 0
    max_active: int = 0
    idle_minutes: int = 0
    active: int = 0
    queued: int = 0
    queued_priority: int = 0
    admitted_last_minute: int = 0
    admitted_last_5_minutes: int = 0
    totals: dict | None = None

    def as_dict(self) -> dict:
        if not self.available:
            return {"available": False}
        return {
            "available": True,
            "enabled": self.enabled,
            "admit_per_minute": self.admit_per_minute,
            "max_active": self.max_active,
            "idle_minutes": self.idle_minutes,
            "active": self.active,
            "queued": self.queued + self.queued_priority,
            "queued_normal": self.queued,
            "queued_priority": self.queued_priority,
            "admitted_last_minute": self.admitted_last_minute,
            "admitted_per_minute_last_5_minutes": round(self.admitted_last_5_minutes / 5, 1),
            "totals": self.totals or {},
        }


def room_status() -> RoomStatus:
    """The figures ops and the load test watch: queue lengths, active shoppers, admissions."""

    def read(conn) -> RoomStatus:
        raw = conn.register_script(STATUS)(
            keys=Keys.room(), args=[str(ADMISSIONS_WINDOW_MS)], client=conn
        )
        flat = [_text(item) for item in raw[9]]
        totals = {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}
        enabled, rate, cap, idle_ms = (_text(item) for item in raw[:4])
        return RoomStatus(
            available=True,
            enabled=enabled == "1",
            admit_per_minute=int(rate or 0),
            max_active=int(cap or 0),
            idle_minutes=int(idle_ms or 0) // 60000,
            active=int(raw[4]),
            queued=int(raw[5]),
            queued_priority=int(raw[6]),
            admitted_last_minute=int(raw[7]),
            admitted_last_5_minutes=int(raw[8]),
            totals=totals,
        )

    return redis_call(read, fallback=RoomStatus(available=False), what="status")
