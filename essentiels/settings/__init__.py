"""Settings split by environment: ``dev`` (make run), ``test`` (pytest, CI), ``production``.

``DJANGO_SETTINGS_MODULE`` picks one; manage.py defaults to ``essentiels.settings.dev``.
"""
