"""`{% url %}` as Django's, each address reversed once: a template builtin (settings.TEMPLATES).

Django reverses every `{% url %}` each time a page renders: a rendered car page spent an eighth of
its time in its seven. What an address reverses to depends only on the URLconf, the script prefix,
the language (i18n patterns) and what the tag names, so those are the key. Arguments other than
text and whole numbers (a model instance, written as its str()) are reversed every time.
"""

from functools import lru_cache
from typing import Any

from django import template
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()


@lru_cache(maxsize=4096)
def _reversed(
    resolver: Any, prefix: str, language: str | None, view_name: str, args: tuple[Any, ...], kwargs: tuple[Any, ...],
    current_app: str | None,
) -> str:  # fmt: skip
    # The resolver (cleared with Django's URL caches), prefix and language are key, not arguments.
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


def _cacheable(values: Any) -> bool:
    return all(type(value) in (str, int) for value in values)


class ReversedOnceURLNode(URLNode):
    def render(self, context: Context) -> str:
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        if not (isinstance(view_name, str) and _cacheable(args) and _cacheable(kwargs.values())):
            return super().render(context)
        try:  # as Django's
            current_app = context.request.current_app  # type: ignore[attr-defined]
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace  # type: ignore[attr-defined]
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = _reversed(
                get_resolver(get_urlconf()), get_script_prefix(), get_language(), view_name, args,
                tuple(sorted(kwargs.items())), current_app,
            )  # fmt: skip
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> ReversedOnceURLNode:
    """Django's `{% url %}`, parsed by Django, rendered through the cache above."""
    node = django_url(parser, token)
    return ReversedOnceURLNode(node.view_name, node.args, node.kwargs, node.asvar)
