"""HTML forms of the pay run. They parse input; the services decide and write."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from telesales.compensation.payrun import adjustment_amount_parse
from telesales.compensation.rulesets import MAX_FILE_BYTES
from telesales.core.dates import validate_center_year
from telesales.core.errors import ValidationFailed
from telesales.core.forms import StyledForm
from telesales.org.models import Person

REASON_MAX = 500


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", **kwargs)


class PayRunComputeForm(StyledForm, forms.Form):
    """The month to compute: its first day (``YYYY-MM`` or a full date)."""

    period = forms.DateField(
        validators=[validate_center_year],
        label=_("Period"),
        widget=MonthInput(),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        help_text=_("The month to compute (its pay period starts on the first day)."),
        error_messages={"invalid": _("Give a month as YYYY-MM.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReasonForm(StyledForm, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class PayRunApproveForm(ReasonForm):
    """The approval of a pay run; when someone's total is negative the box must be ticked."""

    acknowledge_negative = forms.BooleanField(
        label=_("I have checked the negative totals and approve them as they are."),
        required=False,
    )

    def __init__(self, *args, negatives: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        if not negatives:
            del self.fields["acknowledge_negative"]


class AdjustmentCancelForm(ReasonForm):
    """Why a pending adjustment is cancelled (required)."""

    reason = forms.CharField(label=_("Reason for the cancellation"), max_length=REASON_MAX)


class RuleSetApproveForm(ReasonForm):
    """Approving a rule set changes the pay of every open and later period: a ticked box
    says the approver means it."""

    confirm = forms.BooleanField(
        label=_("I understand that pay from the effective date is computed under this version."),
        error_messages={"required": _("Tick the box to confirm: approving changes pay.")},
    )


class RuleSetDiscardForm(ReasonForm):
    """Discarding a draft deletes it (its text stays in the audit log): a ticked box says the
    user means it."""

    confirm = forms.BooleanField(
        label=_("Delete this draft. Its text stays in the audit log."),
        error_messages={"required": _("Tick the box to confirm: the draft is deleted.")},
    )


class AdjustmentForm(StyledForm, forms.Form):
    """A correction paid by the next run computed (positive or negative, in yuan)."""

    person = forms.ModelChoiceField(
        label=_("Person"),
        queryset=Person.objects.none(),
        error_messages={"invalid_choice": _("Choose a person from the list.")},
    )
    # Text, parsed by the service's rule (``payrun.adjustment_amount_parse``): a decimal
    # field would take "1e5" for 100000.
    amount = forms.CharField(
        label=_("Amount (yuan)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("Negative to take back; at most two decimals."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)
    confirm = forms.BooleanField(
        label=_("The amount is right even though it is far above the person's usual pay."),
        required=False,
    )

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people if people is not None else Person.objects.none()
        # The reader's language's brackets: "张伟（E00012）", "Zhang Wei (E00012)".
        self.fields["person"].label_from_instance = lambda p: (
            gettext("%(name)s (%(employee_no)s)") % {"name": p.name, "employee_no": p.employee_no}
        )
        # The confirmation is offered once the service has asked for it (``offer_confirm``).
        self.fields["confirm"].widget = forms.HiddenInput()
        self._style()

    def offer_confirm(self) -> None:
        """Show the confirmation box (the amount is far above the person's usual pay)."""
        self.fields["confirm"].widget = forms.CheckboxInput(attrs={"class": "form-check-input"})

    def clean_amount(self) -> Decimal:
        try:
            return adjustment_amount_parse(self.cleaned_data["amount"])
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.fields["amount"]) from None


class RuleSetImportForm(StyledForm, forms.Form):
    """A new draft version of the basic law: a YAML or JSON file, or its text pasted (or
    edited from an earlier version), and the day it is to take effect."""

    effective_from = forms.DateField(
        validators=[validate_center_year],
        label=_("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The first day the version applies to, once approved."),
    )
    file = forms.FileField(
        label=_("Rule file (YAML or JSON)"),
        required=False,
        help_text=_("UTF-8 or GBK text. Leave empty to use the text below."),
    )
    text = forms.CharField(
        label=_("Rules"),
        required=False,
        max_length=MAX_FILE_BYTES,
        strip=False,  # kept as written: the version's file is this text
        widget=forms.Textarea(
            attrs={
                "rows": 18,
                "spellcheck": "false",
                "class": "form-control form-control-sm font-monospace",
            }
        ),
        help_text=_("Edit an earlier version here, or paste a file's text."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        if not data.get("file") and not (data.get("text") or "").strip():
            self.add_error("text", _("Choose a rule file or give the rules as text."))
        return data
