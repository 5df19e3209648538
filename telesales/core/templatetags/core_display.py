"""Template filters shared by every app's pages."""

from __future__ import annotations

from django import template

from telesales.core.formatting import figure

register = template.Library()
register.filter("figure", figure)
