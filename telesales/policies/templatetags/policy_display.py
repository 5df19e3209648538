"""Template filters of the policies pages."""

from __future__ import annotations

from django import template

from telesales.core.formatting import money

register = template.Library()
register.filter("money", money)
