"""The Celery app. Configuration (broker, serializers, acks, time limits, beat) is in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essentiels.settings.dev")

app = Celery("essentiels")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
