"""HTML forms for policies. They parse input; services decide and write."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from telesales.core.dates import validate_center_year
from telesales.core.forms import StyledForm, UncutTextField
from telesales.policies.choices import (
    OUTCOMES_BY_KIND,
    CancelReason,
    CommissionBasis,
    PaymentMode,
    PolicyStatus,
    ProductCategory,
    TaskKind,
    TaskOutcome,
)
from telesales.policies.models import StabilisationRuleSet
from telesales.policies.services import RULESET_PARAMETERS

SEARCH_MAX = 50
NOTE_MAX = 1000
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class _Form(StyledForm, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# --- Lists -------------------------------------------------------------------------------
class PolicyFilterForm(_Form):
    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX,
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Policy number or holder")}),
    )
    status = forms.ChoiceField(
        choices=[("", _("Any status")), *PolicyStatus.choices], required=False, label=_("Status")
    )
    category = forms.ChoiceField(
        choices=[("", _("Any category")), *ProductCategory.choices],
        required=False,
        label=_("Category"),
    )
    since = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("Sold from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("Sold until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def selector_filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "search": data.get("q") or "",
            "status": data.get("status") or None,
            "category": data.get("category") or None,
            "since": data.get("since"),
            "until": data.get("until"),
        }


class ReportForm(_Form):
    by = forms.ChoiceField(
        choices=[("agent", _("By agent")), ("team", _("By team"))], required=False, label=_("Group")
    )
    since = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("Issued from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("Issued until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("since", _("The period ends before it starts."))
        if since and until and (until - since).days > 3660:
            self.add_error("since", _("At most ten years."))
        return data

    def period(self, default_days: int = 90) -> tuple[str, dt.date, dt.date]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        until = data.get("until") or timezone.localdate()
        since = data.get("since") or until - dt.timedelta(days=default_days)
        return data.get("by") or "agent", since, until

    def show_period(self, *, by: str, since: dt.date, until: dt.date) -> None:
        """Fill the boxes left blank with the period in effect, so the page never reports a
        period its empty date boxes do not show. A box holding a value the form refused keeps
        it (with its error)."""
        values = {"by": by, "since": since.isoformat(), "until": until.isoformat()}
        if not self.is_bound:
            self.initial.update(values)
            return
        data = self.data.copy()
        for name, value in values.items():
            if not data.get(name) and name not in self.errors:
                data[name] = value
        self.data = data


# --- Products ----------------------------------------------------------------------------
class ProductForm(_Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=pgettext_lazy("product name", "Name"), max_length=100)
    insurer = forms.CharField(label=_("Insurer"), max_length=100, required=False)
    category = forms.ChoiceField(label=_("Category"), choices=ProductCategory.choices)
    grade = forms.TypedChoiceField(
        label=_("Required sales-capability grade"),
        choices=[(i, str(i)) for i in range(1, 5)],
        coerce=int,
    )
    free_look_days = forms.IntegerField(
        label=_("Free-look days"),
        min_value=0,
        max_value=1000,
        initial=15,
        help_text=_("At least 10; counted from the receipt date"),
    )
    commission_basis = forms.ChoiceField(
        label=_("Commission basis"), choices=CommissionBasis.choices
    )
    first_year_commission_rate = forms.DecimalField(
        label=_("First-year commission rate"),
        max_digits=5,
        decimal_places=4,
        initial=0,
        help_text=_("A share of the basis, e.g. 0.3000 for 30%"),
    )
    allowed_modes = forms.MultipleChoiceField(
        label=_("Payment modes allowed"),
        choices=PaymentMode.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_terms = forms.CharField(
        label=_("Terms allowed (years)"),
        max_length=200,
        help_text=_("Comma-separated, e.g. 10, 20"),
    )
    min_premium = forms.DecimalField(
        label=_("Minimum annualised premium"), max_digits=14, decimal_places=2
    )
    max_premium = forms.DecimalField(
        label=_("Maximum annualised premium"), max_digits=14, decimal_places=2
    )
    min_insured_age = forms.IntegerField(
        label=_("Youngest insured age"),
        required=False,
        min_value=0,
        max_value=120,
        help_text=_("Whole years on the day of the sale; empty: no limit"),
    )
    max_insured_age = forms.IntegerField(
        label=_("Oldest insured age"),
        required=False,
        min_value=0,
        max_value=120,
        help_text=_("e.g. 17 for a children's product; empty: no limit"),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True

    def clean_allowed_terms(self) -> list[int]:
        raw = self.cleaned_data["allowed_terms"].replace("，", ",")
        terms = []
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            if not (part.isascii() and part.isdigit() and len(part) <= 3):
                raise forms.ValidationError(_("Whole numbers of years, separated by commas."))
            terms.append(int(part))
        if not terms:
            raise forms.ValidationError(_("At least one term."))
        return terms

    @classmethod
    def initial_for(cls, product) -> dict:
        return {
            **{name: getattr(product, name) for name in cls.base_fields if name != "allowed_terms"},
            "allowed_terms": ", ".join(str(t) for t in product.allowed_terms or []),
        }

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        if self.fields["code"].disabled:
            data.pop("code", None)
        return data


# --- Policy actions ----------------------------------------------------------------------
class IssueForm(_Form):
    number = forms.CharField(
        label=_("Policy number"),
        max_length=32,
        required=False,
        help_text=_("Empty: a number is generated"),
    )
    issued_at = forms.DateTimeField(
        validators=[validate_center_year],
        label=_("Issued at"),
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("Empty: now"),
    )


class ReceiptForm(_Form):
    receipt_date = forms.DateField(
        validators=[validate_center_year],
        label=_("Receipt date"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class NoteField(UncutTextField):
    """A note of up to ``NOTE_MAX`` characters, refused whole when longer
    (``core.forms.UncutTextField``)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=NOTE_MAX, **kwargs)


def task_auto_id(task_id: int) -> str:
    """Element ids of one task's forms: several tasks' forms share a page (the task list,
    the workspace's lead panel), and an id must name one element."""
    return f"id_task{task_id}_%s"


class CancelForm(_Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=CancelReason.choices)
    note = NoteField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DeclineForm(_Form):
    note = NoteField(label=_("Underwriting's reason"), widget=forms.Textarea(attrs={"rows": 2}))


class TaskCompleteForm(_Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=TaskOutcome.choices)
    note = NoteField(label=_("Note"), required=False)

    def __init__(self, *args, kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if kind:
            allowed = OUTCOMES_BY_KIND[TaskKind(kind)]
            self.fields["outcome"].choices = [(o.value, o.label) for o in allowed]


class TaskRescheduleForm(_Form):
    due_at = forms.DateTimeField(
        validators=[validate_center_year],
        label=_("Call on"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    note = NoteField(label=_("Note"), required=False)


# --- Rule sets ---------------------------------------------------------------------------
class RuleSetForm(StyledForm, forms.ModelForm):
    reason = forms.CharField(label=_("Why this change"), max_length=300, required=False)

    class Meta:
        model = StabilisationRuleSet
        fields = ["name", "effective_from", *RULESET_PARAMETERS]
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "welcome_script": forms.Textarea(attrs={"rows": 3}),
            "checkin_script": forms.Textarea(attrs={"rows": 3}),
            "extended_script": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.IntegerField):
                field.max_value = field.max_value or 10_000
                field.widget.attrs.setdefault("max", 10_000)
            if isinstance(field, forms.CharField) and field.max_length is None:
                field.max_length = 4000
                field.validators.append(MaxLengthValidator(4000))
        self.fields["effective_from"].initial = timezone.localdate()
        # Added later: a post without it keeps the value of the version it is based on.
        self.fields["extended_service_after_free_look_days"].required = False
        self._style()

    def _post_clean(self):
        # The service validates the version (with a message per field); the form only parses.
        pass

    def parameters(self) -> dict:
        params = {name: self.cleaned_data[name] for name in RULESET_PARAMETERS}
        if params["extended_service_after_free_look_days"] is None:
            del params["extended_service_after_free_look_days"]
        return params
