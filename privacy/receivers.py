"""A shopper who ticks the marketing box while registering (Oscar's registration forms, with
the box added by templates/privacy/partials/marketing_consent_field.html) consents then."""

from django.dispatch import receiver
from django.utils.translation import get_language
from oscar.apps.customer.signals import user_registered

from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import consent_give
from privacy.wording import consent_wording

# The box's name on both registration pages (/accounts/login/ and /accounts/register/).
FIELD = "marketing_consent"


@receiver(user_registered, dispatch_uid="privacy.marketing_consent_on_registration")
def record_marketing_consent(sender, request, user, **kwargs) -> None:
    if request is None or not request.POST.get(FIELD):
        return
    consent_give(
        user_id=user.pk,
        purpose=ConsentPurpose.MARKETING_EMAIL,
        wording=consent_wording(ConsentPurpose.MARKETING_EMAIL),
        language=get_language(),
        source=ConsentSource.REGISTRATION,
    )
