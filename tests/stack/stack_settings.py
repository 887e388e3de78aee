"""The stack's settings with a few probe views (tests/stack/views.py), for the stack's tests only:
scripts/stack.sh runs with STACK_SETTINGS=tests.stack.stack_settings. Production's URLs never
include them."""

from essentiels.settings.stack import *  # noqa: F403

ROOT_URLCONF = "tests.stack.urls"
