from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from oscar.apps.catalogue.apps import CatalogueConfig as OscarCatalogueConfig


class EssentielsConfig(AppConfig):
    """Project-wide pieces: /healthz, load_demo, housekeeping tasks, fixes to Oscar's receivers."""

    name = "essentiels"
    verbose_name = _("Les Essentiels")

    def ready(self) -> None:
        from essentiels import analytics, spreadsheets

        analytics.replace_oscar_receivers()
        spreadsheets.oscar_csv_exports_make_safe()
        # The staff groups are reset to exactly their permissions after every migrate (and
        # test database flush). post_migrate is sent per app with models, which this one has
        # not: hook on auth's, once per migrate; roles_sync creates every app's permissions.
        post_migrate.connect(
            _roles_sync, sender=apps.get_app_config("auth"), dispatch_uid="essentiels.roles_sync"
        )


def _roles_sync(sender, **kwargs) -> None:
    from essentiels.roles import roles_sync

    roles_sync()


class CatalogueConfig(OscarCatalogueConfig):
    """Oscar's catalogue (same label, models and migrations) listing products from the database.

    See ``essentiels/catalogue.py`` for why the two list views are replaced.
    """

    def ready(self) -> None:
        super().ready()
        from essentiels.catalogue import CatalogueView, ProductCategoryView

        self.catalogue_view = CatalogueView
        self.category_view = ProductCategoryView
