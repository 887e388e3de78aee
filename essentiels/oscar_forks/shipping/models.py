# Oscar's shipping models, unchanged; this import must stay the last line (Oscar's fork rule).
from oscar.apps.shipping.models import *  # noqa: F403
