from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from telesales.core.dates import guard_date_fields
from telesales.core.formatting import line_breaks_normalised
from telesales.core.http_api import ID_MAX


class UncutTextField(forms.CharField):
    """A note of at most ``max_length`` characters that is refused whole when longer, never cut:
    the page has no ``maxlength`` (a browser cuts a pasted text at it without a word), the
    error gives the length, and the form comes back with the whole text. Line breaks count
    once, as the reader sees them (``line_breaks_normalised``)."""

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.error_messages["max_length"] = _(
            "The note is too long: %(show_value)d characters, at most %(limit_value)d. "
            "Shorten it; nothing was saved."
        )

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs

    def to_python(self, value):
        return line_breaks_normalised(super().to_python(value))


class LoginForm(AuthenticationForm):
    """The sign-in form; axes (an authentication backend) adds the lockout."""

    error_messages = {
        "invalid_login": _("Wrong username or password. Note that both are case-sensitive."),
        "inactive": _("This account is disabled. Ask your HR admin."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django sets the username's max_length after the field exists, so it is never checked;
        # an over-long name would reach the lockout log (varchar 255) and fail there.
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))
        self.fields["username"].widget.attrs.update({"class": "form-control", "autofocus": True})
        self.fields["password"].widget.attrs.update({"class": "form-control"})


def _oversized(value) -> bool:
    text = str(value).strip()
    return len(text) >= 19 and text.isascii() and text.isdigit() and int(text) > ID_MAX


def _without_oversized_ids(data, fields):
    """``data`` with every oversized id given to a model choice field replaced by ``"0"``."""
    getlist = getattr(data, "getlist", None)
    changed = None
    for name, field in fields.items():
        if not isinstance(field, forms.ModelChoiceField):  # the multiple one is a subclass
            continue
        values = getlist(name) if getlist else [data.get(name)]
        if any(_oversized(v) for v in values if v is not None):
            changed = changed if changed is not None else data.copy()
            cleaned = ["0" if v is not None and _oversized(v) else v for v in values]
            if getlist:
                changed.setlist(name, cleaned)
            else:
                changed[name] = cleaned[0] if len(cleaned) == 1 else cleaned
    return data if changed is None else changed


class StyledForm:
    """Mixin for every form of the apps: Bootstrap's classes on each widget (small controls by
    default: dense screens used all day; ``dense = False`` for full-size ones), refusal of
    NUL characters in text (PostgreSQL can neither store nor compare them) and of numbers
    typed in exponent form ("1e3") as field errors, and the center's years on every date
    field (``telesales.core.dates``). Call ``self._style()`` at the end of ``__init__``."""

    dense = True

    def _style(self) -> None:
        guard_date_fields(self)
        small = " form-select-sm" if self.dense else ""
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select" + small
            else:
                css = "form-control" + small.replace("select", "control")
            widget.attrs.setdefault("class", css)

    def full_clean(self) -> None:
        # A record id larger than any table holds (a forged choice) would reach SQLite, which
        # cannot even bind it (a server error): "0" names no record either, so the field says
        # "not one of the choices" as for any unknown id.
        if self.is_bound:  # type: ignore[attr-defined]
            self.data = _without_oversized_ids(self.data, self.fields)  # type: ignore[attr-defined]
        super().full_clean()  # type: ignore[misc]

    def clean(self):
        data = super().clean()  # type: ignore[misc]
        for name, value in list(data.items()):
            if isinstance(value, str) and "\x00" in value:
                self.add_error(name, _("Must not contain NUL characters."))  # type: ignore[attr-defined]
            elif isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent > 0:
                # "1e3" typed for an amount: a slip as likely as a number; never read as 1000.
                self.add_error(  # type: ignore[attr-defined]
                    name, _("write the number in plain digits, such as 1000 or 120.50")
                )
        return data
