"""{% storefront_hole "kind" "template.html" %}: a part of a cached page that belongs to the
visitor; kind is ``account``, ``cart`` or ``messages`` (baskets.page_cache)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from baskets.page_cache import ACCOUNT, CART, MESSAGES, hole_marker

register = template.Library()


@register.simple_tag(takes_context=True)
def storefront_hole(context, kind: str, template_name: str) -> SafeString:
    """Include ``template_name`` here, as ``{% include %}`` does; or, when the page is rendered for
    the cache (``storefront_shell`` in the context), leave a marker that ``baskets.page_cache``
    replaces with that template rendered for each visitor who has a part of that kind."""
    if kind not in {ACCOUNT, CART, MESSAGES}:
        raise template.TemplateSyntaxError(f"storefront_hole: unknown kind {kind!r}")
    if context.get("storefront_shell"):
        return mark_safe(hole_marker(kind, template_name))  # noqa: S308 — our own marker
    included = context.template.engine.get_template(template_name)
    with context.push():
        return mark_safe(included.render(context))  # noqa: S308 — rendered (and escaped) by it
