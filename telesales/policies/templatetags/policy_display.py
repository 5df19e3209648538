"""Template filters of the policies pages."""

from __future__ import annotations

from django import template

from telesales.core.formatting import money, percent

register = template.Library()
register.filter("money", money)
register.filter("percent", percent)
