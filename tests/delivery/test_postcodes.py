import pytest

from delivery.postcodes import Eligibility, commune_key, postcode_lookup, postcode_normalise
from tests.delivery.factories import DistrictFactory, paris_13e

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("75013", "75013"), ("  75013 ", "75013"), ("75 013", "75013"), ("7501", None),
     ("ABCDE", None), ("750133", None), ("", None), (None, None)],
)  # fmt: skip
def test_postcodes_are_normalised_or_refused(raw, expected):
    assert postcode_normalise(raw) == expected


def test_commune_names_compare_without_accents_case_or_saint_abbreviations():
    assert commune_key("ST MAUR DES FOSSES") == commune_key("Saint-Maur-des-Fossés")
    assert commune_key("l'Haÿ-les-Roses") == commune_key("L HAY LES ROSES")


def test_a_served_postcode_gives_its_district():
    district = paris_13e()
    lookup = postcode_lookup(postcode=" 75013 ")
    assert lookup.status == Eligibility.SERVED
    assert lookup.district == district


@pytest.mark.parametrize("raw", ["7501", "ABCDE", ""])
def test_malformed_postcodes_are_reported_as_such(raw):
    assert postcode_lookup(postcode=raw).status == Eligibility.MALFORMED


def test_a_postcode_outside_the_area_is_unknown():
    paris_13e()
    assert postcode_lookup(postcode="69001").status == Eligibility.UNKNOWN


def test_a_closed_district_is_not_served_yet():
    DistrictFactory(name="Montreuil", insee_code="93048", is_active=False, postcodes=["93100"])
    lookup = postcode_lookup(postcode="93100")
    assert lookup.status == Eligibility.NOT_SERVED
    assert lookup.district.name == "Montreuil"


@pytest.fixture
def shared_postcode():
    # given two communes behind one postcode, only one of them open
    open_one = DistrictFactory(
        name="Saint-Maur-des-Fossés", insee_code="94068", postcodes=["94210"]
    )
    closed_one = DistrictFactory(
        name="La Varenne", insee_code="94999", is_active=False, postcodes=["94210"]
    )
    return open_one, closed_one


def test_a_shared_postcode_asks_which_commune(shared_postcode):
    lookup = postcode_lookup(postcode="94210")
    assert lookup.status == Eligibility.AMBIGUOUS
    assert {d.name for d in lookup.candidates} == {"Saint-Maur-des-Fossés", "La Varenne"}


def test_a_shared_postcode_with_the_commune_is_resolved(shared_postcode):
    open_one, closed_one = shared_postcode
    served = postcode_lookup(postcode="94210", commune="ST MAUR DES FOSSES")
    assert (served.status, served.district) == (Eligibility.SERVED, open_one)
    waiting = postcode_lookup(postcode="94210", commune="la varenne")
    assert (waiting.status, waiting.district) == (Eligibility.NOT_SERVED, closed_one)


def test_a_shared_postcode_with_every_commune_closed_needs_no_choice():
    DistrictFactory(name="A", insee_code="94001", is_active=False, postcodes=["94400"])
    DistrictFactory(name="B", insee_code="94002", is_active=False, postcodes=["94400"])
    assert postcode_lookup(postcode="94400").status == Eligibility.NOT_SERVED
