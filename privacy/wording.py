"""The words shown next to each consent box. What the shopper saw is stored with their consent
(in their language), so changing a sentence here never changes what anyone agreed to."""

from django.utils.translation import gettext_lazy as _

from privacy.models import ConsentPurpose

WORDING = {
    ConsentPurpose.MARKETING_EMAIL: _(
        "Send me news and offers from Les Essentiels by email. I can withdraw this consent at "
        "any time from my account (My data)."
    ),
}


def consent_wording(purpose: str) -> str:
    """The wording of ``purpose`` in the active language, exactly as the pages show it."""
    return str(WORDING[ConsentPurpose(purpose)])
