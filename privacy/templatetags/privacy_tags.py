from django import template

from privacy.wording import consent_wording as wording_of

register = template.Library()


@register.simple_tag
def consent_wording(purpose: str) -> str:
    """``{% consent_wording "marketing_email" %}``: the words stored with the consent."""
    return wording_of(purpose)
