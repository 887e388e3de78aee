"""``{% url %}`` with each address remembered: a template built-in (TEMPLATES' ``builtins``) that
replaces Django's tag everywhere, with the same syntax and output.

``reverse`` costs ~12 µs a call, and the busiest pages (the basket list and basket pages,
bench/bench_pages.py) link about fifteen fixed addresses each: the navigation, the cart, the
forms. An address depends only on the URL name and arguments and on what ``reverse`` reads —
the URLconf, the script prefix, the language (i18n_patterns) and the current namespace — so it
is remembered per all of them, in each process; the URLconf is code, read once per process
too. Arguments other than strings and integers (a model, a list) are not remembered.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Library
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = Library()


@functools.lru_cache(maxsize=8192)
def _remembered(view_name, args, kwargs, current_app, _urlconf, _prefix, _language) -> str:
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


@receiver(setting_changed)
def _forget(*, setting: str, **_kwargs) -> None:
    if setting == "ROOT_URLCONF":  # tests swap URLconfs; a deployment never does
        _remembered.cache_clear()


class RememberedURLNode(URLNode):
    def render(self, context):
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple((key, value.resolve(context)) for key, value in self.kwargs.items())
        if not all(isinstance(value, (str, int)) for value in (*args, *(v for _k, v in kwargs))):
            return super().render(context)
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = _remembered(
                view_name,
                args,
                kwargs,
                current_app,
                get_urlconf() or settings.ROOT_URLCONF,
                get_script_prefix(),
                get_language(),
            )
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's ``{% url %}`` (same syntax, same output), each address remembered."""
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
