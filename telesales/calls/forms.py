"""HTML forms of the agent workspace. They parse input; the services decide and write.

Field names match the names the services use in ``ValidationFailed(fields=...)``, so that a
service's refusal lands on the field it names (``core.form_errors.add_domain_error``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from telesales.calls.amounts import amount_example, amount_parse
from telesales.calls.choices import SELF_STATES, FollowUpKind
from telesales.calls.models import CALL_NOTE_MAX_LENGTH
from telesales.core.dates import validate_center_year
from telesales.core.forms import StyledForm, UncutTextField
from telesales.core.phone_numbers import mask_phone
from telesales.leads.choices import Gender
from telesales.policies.choices import PaymentMode, TaskKind, TaskOutcome
from telesales.policies.forms import TaskCompleteForm

NOTE_MAX = CALL_NOTE_MAX_LENGTH
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    """``<input type="datetime-local">``: the browser's picker, read in the center's zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_LOCAL)


def _local_datetime_field(label, *, required: bool) -> forms.DateTimeField:
    return forms.DateTimeField(
        validators=[validate_center_year],
        label=label,
        required=required,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=LocalDateTimeInput(),
    )


def _note_limit_text() -> str:
    return gettext("At most %(n)d characters.") % {"n": CALL_NOTE_MAX_LENGTH}


#: Evaluated when the page is drawn, in the reader's language (not when the form is defined).
_note_help = lazy(_note_limit_text, str)


class NoteField(UncutTextField):
    """A note on a call or a follow-up, up to ``CALL_NOTE_MAX_LENGTH`` characters, refused
    whole when longer (``core.forms.UncutTextField``)."""

    def __init__(self, *, widget=None, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Note"))
        super().__init__(max_length=CALL_NOTE_MAX_LENGTH, widget=widget, **kwargs)
        self.help_text = self.help_text or _note_help()


def _future(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value <= timezone.now():
        raise forms.ValidationError(_("Choose a time in the future."))
    return value


class DispositionForm(StyledForm, forms.Form):
    """How a call ended. An outcome that books the next call (interested, callback) takes its
    time; left empty, the follow-up cadence picks the day."""

    disposition = forms.ChoiceField(label=_("Outcome"))
    note = NoteField(widget=forms.Textarea(attrs={"rows": 2}))
    callback_at = _local_datetime_field(_("Next call at"), required=False)

    def __init__(self, *args, dispositions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.dispositions = {d.code: d for d in dispositions if not d.sale}
        self.fields["disposition"].choices = [("", "—")] + [
            (d.code, d.name) for d in self.dispositions.values()
        ]
        self.fields["callback_at"].help_text = _("Empty: the follow-up cadence picks the day.")
        self.chosen = None
        self._style()

    def clean_callback_at(self):
        return _future(self.cleaned_data.get("callback_at"))

    def clean(self):
        data = super().clean()
        self.chosen = self.dispositions.get(data.get("disposition") or "")
        if self.chosen is not None and not self.chosen.callback:
            # The field is hidden for outcomes that book nothing; ignore a stale value.
            data["callback_at"] = None
            self.errors.pop("callback_at", None)
        return data

    @property
    def callback_codes(self) -> str:
        return " ".join(code for code, d in self.dispositions.items() if d.callback)


class FollowUpForm(StyledForm, forms.Form):
    """Schedule the next call on a lead (a callback agreed with the customer, or the next
    step of the follow-up cadence)."""

    due_at = _local_datetime_field(_("Call at"), required=True)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (FollowUpKind.CALLBACK, FollowUpKind.CALLBACK.label),
            (FollowUpKind.FOLLOW_UP, FollowUpKind.FOLLOW_UP.label),
        ],
        initial=FollowUpKind.CALLBACK,
    )
    note = NoteField(widget=forms.Textarea(attrs={"rows": 1}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_due_at(self):
        return _future(self.cleaned_data.get("due_at"))


class ServiceTaskOutcomeForm(TaskCompleteForm):
    """A service task's outcome in the workspace (the task list's "done" form), and, for an
    extended-service suggestion, when to call the interested customer next."""

    callback_at = _local_datetime_field(_("Next service call at"), required=False)

    def __init__(self, *args, kind: str | None = None, **kwargs):
        super().__init__(*args, kind=kind, **kwargs)
        self.extended = kind == TaskKind.EXTENDED_SERVICE
        self.fields["callback_at"].help_text = _(
            "Interested: empty, the follow-up cadence picks the day."
        )
        if not self.extended:
            del self.fields["callback_at"]

    def clean_callback_at(self):
        return _future(self.cleaned_data.get("callback_at"))

    def clean(self):
        data = super().clean()
        if self.extended and data.get("outcome") != TaskOutcome.INTERESTED:
            # Only an interested customer is called again; ignore a stale value.
            data["callback_at"] = None
            self.errors.pop("callback_at", None)
        return data


class PremiumField(forms.CharField):
    """An amount in yuan as typed: "12000", "12,000", "12000元", full-width digits
    (``calls.amounts``). Whether it is in the product's range is the form's ``clean`` (one
    message that names the product's range), then the sale service's."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("maxlength", "40")

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        if len(text) > 40:
            raise forms.ValidationError(amount_example(), code="invalid")
        try:
            return amount_parse(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


def premium_range_error(product, premium: Decimal) -> str | None:
    """The one message for a premium outside ``product``'s range (zero, negative and far
    too large included), or None when it fits."""
    if product.min_premium <= premium <= product.max_premium:
        return None
    return gettext("%(product)s takes an annualised premium from %(low)s to %(high)s yuan") % {
        "product": product.name,
        "low": product.min_premium,
        "high": product.max_premium,
    }


def member_label(customer, *, today: dt.date | None = None) -> str:
    """A household member for a choice list: name, gender, age and the masked number."""
    today = today or timezone.localdate()
    parts = [customer.name or f"#{customer.pk}"]
    if customer.gender:
        parts.append(str(Gender(customer.gender).label))
    age = age_of(customer.birth_date, today)
    if age is not None:
        parts.append(str(_("%(n)d y") % {"n": age}))
    parts.append(mask_phone(customer.mobile_e164) if customer.mobile_e164 else "")
    return " · ".join(p for p in parts if p)


def age_of(birth_date: dt.date | None, today: dt.date) -> int | None:
    if birth_date is None:
        return None
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


class SaleForm(StyledForm, forms.Form):
    """Record an online close: product, annualised premium, payment mode, term and who is
    insured (the customer or members of their household)."""

    product = forms.ModelChoiceField(queryset=None, label=_("Product"), empty_label="—")
    annualised_premium = PremiumField(label=_("Annualised premium (yuan)"))
    payment_mode = forms.ChoiceField(
        label=_("Payment mode"), choices=[("", "—"), *PaymentMode.choices]
    )
    term_years = forms.TypedChoiceField(label=_("Term (years)"), coerce=int, choices=())
    insured_ids = forms.TypedMultipleChoiceField(
        label=_("Insured persons"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, products, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        offered = list(products)
        terms = sorted({t for p in offered for t in _terms_of(p)})
        # Any known mode or offered term passes the form; whether the product allows it is the
        # service's check, whose message names the product. The lists *shown* are the chosen
        # product's (the page's script swaps them when the product changes).
        self.fields["term_years"].choices = [("", "—")] + [(t, str(t)) for t in terms]
        self.fields["insured_ids"].choices = [(m.pk, member_label(m)) for m in members]
        self.product_options = {"": _options(offered)}
        self.product_options.update({str(p.pk): _options([p], product=p) for p in offered})
        chosen = self.product_options.get(self._chosen_product_key(), self.product_options[""])
        self.premium_range = chosen["range"]
        self._show_only("payment_mode", [value for value, _label in chosen["modes"]])
        self._show_only("term_years", [str(t) for t, _label in chosen["terms"]])
        self._style()

    def clean(self):
        data = super().clean()
        product, premium = data.get("product"), data.get("annualised_premium")
        if premium is None:
            return data
        if product is not None:
            message = premium_range_error(product, premium)
        else:
            message = None if premium > 0 else gettext("must be more than zero")
        if message is None and premium != premium.quantize(Decimal("0.01")):
            message = gettext("at most two decimals (fen)")
        if message:
            self.add_error("annualised_premium", message)
        return data

    def _chosen_product_key(self) -> str:
        if self.is_bound:
            value = self.data.get(self.add_prefix("product"))
        else:
            value = self.initial.get("product")
        value = getattr(value, "pk", value)
        return str(value) if value not in (None, "") else ""

    def _show_only(self, name: str, values: list[str]) -> None:
        """Offer only ``values`` (and "—"), plus what was submitted, so that a refused form
        still shows the choice its error is about."""
        field = self.fields[name]
        submitted = str(self.data.get(self.add_prefix(name), "")) if self.is_bound else ""
        field.widget.choices = [
            (value, label)
            for value, label in field.choices
            if str(value) == "" or str(value) in values or str(value) == submitted
        ]


def _terms_of(product) -> list[int]:
    return [int(t) for t in (product.allowed_terms or []) if str(t).isdigit()]


def _options(products: list, *, product=None) -> dict:
    """The payment modes and terms the products allow, for the sale form's lists (one
    product: with its premium range)."""
    modes = {m for p in products for m in (p.allowed_modes or [])}
    terms = sorted({t for p in products for t in _terms_of(p)})
    premium_range = ""
    if product is not None:
        premium_range = gettext("Annualised premium from %(low)s to %(high)s yuan.") % {
            "low": product.min_premium,
            "high": product.max_premium,
        }
    return {
        "modes": [(m.value, str(m.label)) for m in PaymentMode if m.value in modes],
        "terms": [(t, str(t)) for t in terms],
        "range": premium_range,
    }


class PresenceForm(forms.Form):
    """The states an agent sets themselves: ready, on a break, offline."""

    state = forms.ChoiceField(choices=[(s.value, s.label) for s in SELF_STATES])


class FollowUpReassignForm(StyledForm, forms.Form):
    """Give an escalated follow-up (and its lead) to a teammate, with the reason. The
    teammate is any id here; whether they may take it is the service's check, whose message
    names them."""

    to_agent_id = forms.IntegerField(label=_("Teammate"), min_value=1, max_value=2**31 - 1)
    reason = forms.CharField(label=_("Reason"), max_length=200, strip=True)
    next = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_agent_id"].error_messages["required"] = _("Choose the teammate.")
        self.fields["reason"].error_messages["required"] = _(
            "Say why the follow-up moves (the teammate and the lead history show it)"
        )
        self._style()
