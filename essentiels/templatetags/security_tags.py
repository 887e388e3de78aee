from django import template

from essentiels.security.csp import nonce_placeholder

register = template.Library()


@register.simple_tag
def csp_nonce() -> str:
    """``<script nonce="{% csp_nonce %}">``: the response's CSP nonce, filled in by
    essentiels.security.csp.ContentSecurityPolicyMiddleware (so cached pages get a fresh one).
    Needs no request: works in ``render_to_string`` too."""
    return nonce_placeholder()
