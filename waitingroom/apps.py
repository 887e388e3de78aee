from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitingRoomConfig(AppConfig):
    """The waiting room: admits shoppers at a rate the shop can serve (Redis-backed queue shared
    by every app server), with a priority lane for vulnerable people."""

    name = "waitingroom"
    verbose_name = _("Waiting room")

    def ready(self) -> None:
        from waitingroom import receivers  # noqa: F401 — keeps the fullness summary fresh
