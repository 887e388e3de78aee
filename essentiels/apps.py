from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from oscar.apps.catalogue.apps import CatalogueConfig as OscarCatalogueConfig


class EssentielsConfig(AppConfig):
    """Project-wide pieces: /healthz, load_demo, housekeeping tasks, fixes to Oscar's receivers."""

    name = "essentiels"
    verbose_name = _("Les Essentiels")

    def ready(self) -> None:
        from essentiels import analytics

        analytics.replace_oscar_receivers()


class CatalogueConfig(OscarCatalogueConfig):
    """Oscar's catalogue (same label, models and migrations) listing products from the database.

    See ``essentiels/catalogue.py`` for why the two list views are replaced.
    """

    def ready(self) -> None:
        super().ready()
        from essentiels.catalogue import CatalogueView, ProductCategoryView

        self.catalogue_view = CatalogueView
        self.category_view = ProductCategoryView
