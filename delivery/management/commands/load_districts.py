"""``manage.py load_districts``: seed or refresh districts from delivery/data/communes_idf.csv."""

from pathlib import Path

from django.core.management.base import BaseCommand

from delivery.services.districts import COMMUNES_CSV, districts_load


class Command(BaseCommand):
    help = (
        "Create or update one district per INSEE code (with its postcodes) from the communes "
        "file. Safe to re-run: ops' choices (open, weekday, capacity, fees) are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=COMMUNES_CSV, help="CSV to load.")

    def handle(self, *args, file: Path, **options):
        report = districts_load(path=file)
        self.stdout.write(
            f"Districts: {report.created} created, {report.updated} updated, "
            f"{report.postcodes_created} postcodes added."
        )
