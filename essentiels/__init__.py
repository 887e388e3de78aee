"""Les Essentiels: the Django project package (settings, URLs, WSGI and the Celery app)."""

# Load the Celery app with Django so that @shared_task binds to it.
from essentiels.celery_app import app as celery_app

__all__ = ("celery_app",)
