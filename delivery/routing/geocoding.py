"""Stop locations: coordinates for delivery addresses, behind a pluggable geocoder.

``ROUTING_GEOCODER`` names the class (a dotted path). Two are provided:

- ``OfflineGeocoder`` (the default, no network): the district's commune point (loaded from
  ``delivery/data/communes_idf.csv`` by ``load_districts``) moved by a deterministic offset drawn
  from a hash of the normalised address, uniformly within ``ROUTING_OFFLINE_SPREAD_METRES``.
  **Approximate**: two addresses of one commune land at different, stable points, good enough
  to plan and compare routes, not to drive to a door.
- ``AddressApiGeocoder``: the French national address API (``api-adresse.data.gouv.fr``),
  answers cached in ``AddressLocation``. Each call is bounded (``GEOCODER_TIMEOUT_SECONDS``);
  an answer with a low score or far from the district, and every address after the API first
  fails to answer, fall back to the offline point, so planning never waits on the network for
  more than one timeout.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_000
METRES_PER_DEGREE = 111_320
COORDINATES = Decimal("0.000001")

# Common abbreviations of French street types, so "12 bd Blanqui" and "12, Boulevard Blanqui"
# are one building.
_ABBREVIATIONS = {
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "blvd": "boulevard",
    "r": "rue",
    "pl": "place",
    "fg": "faubourg",
    "fbg": "faubourg",
    "st": "saint",
    "ste": "sainte",
    "imp": "impasse",
    "all": "allee",
    "ch": "chemin",
    "rte": "route",
    "sq": "square",
    "qu": "quai",
    "pas": "passage",
}


def address_normalise(text: str) -> str:
    """Lower case, no accents or punctuation, street-type abbreviations spelt out."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def address_key(*, line: str, postcode: str) -> str:
    """One key per building: the normalised address line and the postcode, hashed."""
    raw = f"{address_normalise(line)}|{(postcode or '').strip()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class AddressQuery:
    key: str
    line: str
    postcode: str
    city: str
    # The district's commune point: the offline answer, and the plausibility check of others.
    district_latitude: float | None
    district_longitude: float | None


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float
    source: str
    score: float | None = None


class Geocoder(Protocol):
    """Extension point: any class with this method, named by ``ROUTING_GEOCODER``."""

    def geocode_many(self, queries: Sequence[AddressQuery]) -> dict[str, GeoPoint | None]:
        """Coordinates per query key; None where the address cannot be placed."""


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _has_point(query: AddressQuery) -> bool:
    lat, lon = query.district_latitude, query.district_longitude
    # (0, 0) is the Gulf of Guinea: a district row without real coordinates.
    return lat is not None and lon is not None and not (lat == 0 and lon == 0)


class OfflineGeocoder:
    source = "offline"

    def __init__(self, *, spread_m: float | None = None):
        self.spread_m = (
            settings.ROUTING_OFFLINE_SPREAD_METRES if spread_m is None else float(spread_m)
        )

    def point(self, query: AddressQuery) -> GeoPoint | None:
        if not _has_point(query):
            return None
        digest = hashlib.sha256(query.key.encode()).digest()
        angle = int.from_bytes(digest[:4]) / 2**32 * 2 * math.pi
        # sqrt: uniform over the disc, not bunched at its centre.
        radius = math.sqrt(int.from_bytes(digest[4:8]) / 2**32) * self.spread_m
        lat = float(query.district_latitude)
        lon = float(query.district_longitude)
        lat += radius * math.cos(angle) / METRES_PER_DEGREE
        lon += radius * math.sin(angle) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
        return GeoPoint(latitude=round(lat, 6), longitude=round(lon, 6), source=self.source)

    def geocode_many(self, queries: Sequence[AddressQuery]) -> dict[str, GeoPoint | None]:
        return {query.key: self.point(query) for query in queries}


class AddressApiGeocoder:
    """The national address API (Base Adresse Nationale), cached, with the offline fallback."""

    source = "ban"

    def __init__(
        self,
        *,
        url: str | None = None,
        timeout: float | None = None,
        min_score: float | None = None,
        max_distance_m: float | None = None,
    ):
        self.url = url or settings.GEOCODER_API_URL
        self.timeout = settings.GEOCODER_TIMEOUT_SECONDS if timeout is None else timeout
        self.min_score = settings.GEOCODER_MIN_SCORE if min_score is None else min_score
        self.max_distance_m = (
            settings.GEOCODER_MAX_DISTANCE_METRES if max_distance_m is None else max_distance_m
        )
        self.offline = OfflineGeocoder()
        # Set once the API failed to answer: the rest of the batch goes offline at once.
        self.unreachable = False

    def _ask(self, query: AddressQuery) -> GeoPoint | None:
        params = {"q": f"{query.line} {query.postcode} {query.city}".strip(), "limit": 1}
        if query.postcode:
            params["postcode"] = query.postcode
        request = Request(  # noqa: S310 — the URL is a setting (https in production)
            f"{self.url}?{urlencode(params)}", headers={"User-Agent": "les-essentiels-routing"}
        )
        with urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            payload = json.loads(response.read(1_000_000))
        features = payload.get("features") or []
        if not features:
            return None
        feature = features[0]
        score = float(feature.get("properties", {}).get("score") or 0)
        lon, lat = (float(value) for value in feature["geometry"]["coordinates"][:2])
        if score < self.min_score:
            return None
        if _has_point(query) and (
            haversine_m(lat, lon, float(query.district_latitude), float(query.district_longitude))
            > self.max_distance_m
        ):
            # A homonym street in another town: the commune point is closer to the truth.
            return None
        return GeoPoint(
            latitude=round(lat, 6), longitude=round(lon, 6), source=self.source, score=score
        )

    def geocode_many(self, queries: Sequence[AddressQuery]) -> dict[str, GeoPoint | None]:
        from delivery.routing.models import AddressLocation

        cached = {
            row.key: GeoPoint(
                latitude=float(row.latitude),
                longitude=float(row.longitude),
                source=row.source,
                score=row.score,
            )
            for row in AddressLocation.objects.filter(key__in=[q.key for q in queries])
        }
        found: dict[str, GeoPoint | None] = {}
        for query in queries:
            if query.key in cached:
                found[query.key] = cached[query.key]
                continue
            point = None
            if not self.unreachable:
                try:
                    point = self._ask(query)
                except (URLError, TimeoutError, OSError, ValueError, KeyError) as exc:
                    logger.warning("Address API unreachable (%s): offline points from now", exc)
                    self.unreachable = True
            if point is not None:
                AddressLocation.objects.update_or_create(
                    key=query.key,
                    defaults={
                        "label": f"{query.line}, {query.postcode} {query.city}"[:255],
                        "latitude": Decimal(str(point.latitude)).quantize(COORDINATES),
                        "longitude": Decimal(str(point.longitude)).quantize(COORDINATES),
                        "source": point.source,
                        "score": point.score,
                    },
                )
                found[query.key] = point
            else:
                found[query.key] = self.offline.point(query)
        return found


def geocoder_get() -> Geocoder:
    """The configured geocoder (``ROUTING_GEOCODER``, a dotted path to a class)."""
    return import_string(settings.ROUTING_GEOCODER)()
