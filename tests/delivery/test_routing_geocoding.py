"""Stop locations: the offline geocoder, the national address API through a local stand-in."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from delivery.routing.geocoding import (
    AddressApiGeocoder,
    AddressQuery,
    OfflineGeocoder,
    address_key,
    geocoder_get,
    haversine_m,
)
from delivery.routing.models import AddressLocation

PARIS_13 = (48.828718, 2.362468)


def query(line: str, postcode: str = "75013", point=PARIS_13) -> AddressQuery:
    return AddressQuery(
        key=address_key(line=line, postcode=postcode),
        line=line,
        postcode=postcode,
        city="Paris",
        district_latitude=point[0] if point else None,
        district_longitude=point[1] if point else None,
    )


def test_one_building_is_one_key_however_it_is_written():
    assert address_key(line="12, Bd Auguste-Blanqui", postcode="75013") == address_key(
        line="12 boulevard auguste blanqui ", postcode="75013"
    )
    assert address_key(line="12 bd Blanqui", postcode="75013") != address_key(
        line="14 bd Blanqui", postcode="75013"
    )
    assert address_key(line="12 bd Blanqui", postcode="75013") != address_key(
        line="12 bd Blanqui", postcode="94200"
    )


def test_offline_points_are_stable_distinct_and_within_the_spread(settings):
    settings.ROUTING_OFFLINE_SPREAD_METRES = 700
    geocoder = OfflineGeocoder()
    queries = [query(f"{n} rue de Tolbiac") for n in range(1, 200)]
    points = geocoder.geocode_many(queries)
    again = OfflineGeocoder().geocode_many(queries)
    assert points == again
    assert len({(p.latitude, p.longitude) for p in points.values()}) == len(queries)
    distances = [haversine_m(p.latitude, p.longitude, *PARIS_13) for p in points.values()]
    assert max(distances) <= 701
    # spread over the disc, not bunched at its centre
    assert sum(d > 350 for d in distances) > 100


def test_offline_has_no_point_for_a_district_without_coordinates():
    assert OfflineGeocoder().geocode_many([query("1 rue Watt", point=None)]) == {
        query("1 rue Watt").key: None
    }
    assert OfflineGeocoder().point(query("1 rue Watt", point=(0.0, 0.0))) is None


class _Ban(BaseHTTPRequestHandler):
    """Answers like api-adresse.data.gouv.fr/search/ for a few addresses."""

    delay = 0.0
    calls: list[dict] = []

    def do_GET(self):  # noqa: N802
        params = parse_qs(urlsplit(self.path).query)
        type(self).calls.append(params)
        time.sleep(type(self).delay)
        q = params["q"][0]
        if "Tolbiac" in q:
            features = [
                {
                    "geometry": {"type": "Point", "coordinates": [2.3601, 48.8262]},
                    "properties": {"score": 0.93, "label": q},
                }
            ]
        elif "Lyon" in q:  # a homonym far away
            features = [
                {
                    "geometry": {"type": "Point", "coordinates": [4.8357, 45.764]},
                    "properties": {"score": 0.99},
                }
            ]
        elif "Vague" in q:
            features = [
                {
                    "geometry": {"type": "Point", "coordinates": [2.3601, 48.8262]},
                    "properties": {"score": 0.2},
                }
            ]
        else:
            features = []
        body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the client gave up (timeout test): not an error of the stand-in


@pytest.fixture
def ban():
    _Ban.delay = 0.0
    _Ban.calls = []
    server = _Server(("127.0.0.1", 0), _Ban)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/search/"
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_the_address_api_places_known_addresses_and_caches_them(ban, settings):
    settings.ROUTING_GEOCODER = "delivery.routing.geocoding.AddressApiGeocoder"
    settings.GEOCODER_API_URL = ban
    tolbiac, lyon, vague, unknown = (
        query("100 rue de Tolbiac"),
        query("1 rue de Lyon"),
        query("Vague adresse"),
        query("nulle part"),
    )
    points = geocoder_get().geocode_many([tolbiac, lyon, vague, unknown])
    # the API's point when it is confident and near the district
    assert (points[tolbiac.key].latitude, points[tolbiac.key].source) == (48.8262, "ban")
    assert _Ban.calls[0]["postcode"] == ["75013"]
    # a far homonym, a low score, no answer: the offline point instead
    for key in (lyon.key, vague.key, unknown.key):
        assert points[key].source == "offline"
    # only the API's answers are cached; asked again, the API is not called for them
    assert list(AddressLocation.objects.values_list("key", flat=True)) == [tolbiac.key]
    calls = len(_Ban.calls)
    geocoder_get().geocode_many([tolbiac])
    assert len(_Ban.calls) == calls


@pytest.mark.django_db
def test_an_unreachable_or_slow_api_costs_one_timeout_then_offline_points(ban, settings):
    # given an API answering after 2 s and a 0.3 s timeout
    _Ban.delay = 2.0
    geocoder = AddressApiGeocoder(url=ban, timeout=0.3)
    queries = [query(f"{n} rue de Tolbiac") for n in range(1, 30)]
    started = time.monotonic()
    points = geocoder.geocode_many(queries)
    # then one timeout, not thirty, and every address still has an (offline) point
    assert time.monotonic() - started < 1.5
    assert {p.source for p in points.values()} == {"offline"}
    assert geocoder.unreachable
    # and a closed port is the same
    closed = AddressApiGeocoder(url="http://127.0.0.1:9/search/", timeout=0.3)
    assert closed.geocode_many(queries[:3])[queries[0].key].source == "offline"
