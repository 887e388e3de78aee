"""``manage.py load_demo``: the demo shop. Idempotent; later issues add their steps here."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand, CommandError

from essentiels.demo.assortment import assortment_load
from essentiels.demo.baskets import baskets_load_demo
from essentiels.demo.districts import districts_load_demo
from essentiels.demo.fleet import fleet_load_demo

DEMO_ADMIN_EMAIL = "admin@essentiels.localhost"
DEMO_ADMIN_PASSWORD = "essentiels-demo"  # noqa: S105 — printed to the developer, DEBUG only


class Command(BaseCommand):
    help = "Load the demo assortment (and, with --admin, a demo superuser). Safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin",
            action="store_true",
            help="Also create the demo superuser (refused unless DEBUG is on).",
        )

    def handle(self, *args, admin: bool = False, **options):
        Site.objects.update_or_create(
            pk=settings.SITE_ID, defaults={"domain": "127.0.0.1:8000", "name": "Les Essentiels"}
        )
        report = assortment_load()
        self.stdout.write(
            f"Assortment: {report.created} products created, {report.updated} updated."
        )
        variants = baskets_load_demo()
        self.stdout.write(f"Baskets: {variants} household-size variants published.")
        districts = districts_load_demo()
        self.stdout.write(
            f"Districts: {districts.districts} loaded, {districts.opened} open for the demo."
        )
        buses = fleet_load_demo()
        self.stdout.write(f"Fleet: the Rungis depot and {buses} buses.")
        if admin:
            self._demo_admin()

    def _demo_admin(self) -> None:
        if not settings.DEBUG:
            raise CommandError("--admin creates a superuser with a known password: DEBUG only.")
        user_model = get_user_model()
        user = user_model.objects.filter(email=DEMO_ADMIN_EMAIL).first()
        if user is None:
            user_model.objects.create_superuser(
                username="admin", email=DEMO_ADMIN_EMAIL, password=DEMO_ADMIN_PASSWORD
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} "
                "(http://127.0.0.1:8000/admin/ and /dashboard/)"
            )
        )
