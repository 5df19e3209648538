"""Helpers that every app's pages share: the permission check, a domain lookup whose "not
found" is the page's 404, and one page of a long list."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest

from telesales.core import errors

#: Rows on one page of a list.
PAGE_SIZE = 50


def require(allowed: bool) -> None:
    """The page's permission check: 403 unless ``allowed``."""
    if not allowed:
        raise PermissionDenied


def get_or_404(fn, **kwargs):
    """``fn(**kwargs)`` (a selector's ``…_get``), with its ``NotFound`` answered as 404 and
    its ``PermissionDenied`` as 403, each with the selector's message."""
    try:
        return fn(**kwargs)
    except errors.NotFound as exc:
        raise Http404(exc.message) from exc
    except errors.PermissionDenied as exc:
        raise PermissionDenied(exc.message) from exc


def page_of(request: HttpRequest, rows, size: int = PAGE_SIZE) -> Page:
    """The page of ``rows`` that ``?page=`` asks for (the first for anything unreadable,
    the last past the end)."""
    return Paginator(rows, size).get_page(request.GET.get("page"))
