"""Settings of bench_pages.py's gunicorn servers: production's (the environment gives them, as
in a deployment), served over plain HTTP on loopback, with the benchmark's hello-world view
mounted beside the shop (``pages_urls``). Only the benchmark imports this module."""

from essentiels.settings.production import *  # noqa: F403

ROOT_URLCONF = "pages_urls"
# Unhashed static names: no collectstatic for a benchmark (the pages render the same markup).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
