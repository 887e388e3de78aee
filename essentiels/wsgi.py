"""WSGI entry point for gunicorn (``gunicorn essentiels.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essentiels.settings.production")

application = get_wsgi_application()
