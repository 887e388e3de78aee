import oscar.apps.partner.apps as apps


class PartnerConfig(apps.PartnerConfig):
    name = "essentiels.oscar_forks.partner"
