"""Map domain errors onto HTML forms, once, for every view."""

from __future__ import annotations

from django import forms

from telesales.core.errors import DomainError, ValidationFailed


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Attach a service's error to the form: per field where it names one, else to the form."""
    if isinstance(exc, ValidationFailed) and exc.fields:
        for name, messages in exc.fields.items():
            target = name if name in form.fields else None
            for message in messages:
                if target or name == "__all__":
                    form.add_error(target, message)
                else:
                    form.add_error(None, f"{name}: {message}")
        return
    form.add_error(None, exc.message)


def page_status(exc: DomainError) -> int:
    """The HTTP status of a page that refused a form or an action: the error's own 4xx (422
    for bad input, 409 for a conflict …), 400 for anything else."""
    return exc.status if 400 <= exc.status < 500 else 400
