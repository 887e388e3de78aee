"""``manage.py waitingroom_status [--watch SECONDS]``: the room's figures as JSON lines."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from waitingroom.admission import room_status


class Command(BaseCommand):
    help = "Print the waiting room's figures (queue lengths, active shoppers, admission rate)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--watch", type=float, default=0, help="print again every this many seconds"
        )
        parser.add_argument("--count", type=int, default=0, help="stop after this many lines")

    def handle(self, *args, watch: float, count: int, **options):
        printed = 0
        while True:
            body = room_status().as_dict()
            body["at"] = timezone.now().isoformat()
            self.stdout.write(json.dumps(body, sort_keys=True))
            printed += 1
            if not watch or (count and printed >= count):
                return
            time.sleep(watch)
