"""``manage.py roles_sync``: create the staff groups or reset them to exactly their permissions."""

from django.core.management.base import BaseCommand

from essentiels.roles import roles_sync


class Command(BaseCommand):
    help = (
        "Create the staff groups (Back-office, Ops, Service client) or reset each to exactly "
        "its permissions (essentiels/roles.py). Safe to re-run; also runs after every migrate."
    )

    def handle(self, *args, **options):
        for name, group in roles_sync().items():
            self.stdout.write(f"{name}: {group.permissions.count()} permissions")
