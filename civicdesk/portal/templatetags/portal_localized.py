"""Catalogue entries in the active language: `{{ service|localized_name }}`.

Names and descriptions come from each entry's `translations`, falling back to the original.
"""

from __future__ import annotations

from typing import Protocol

from django import template
from django.utils.translation import get_language

register = template.Library()


class _Named(Protocol):
    def localized_name(self, language: str) -> str: ...


class _Described(Protocol):
    def localized_description(self, language: str) -> str: ...


@register.filter
def localized_name(entry: _Named) -> str:
    return entry.localized_name(get_language())


@register.filter
def localized_description(entry: _Described) -> str:
    return entry.localized_description(get_language())
