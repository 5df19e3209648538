"""HTML forms of operations and renewal. They parse input; services decide and write."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from telesales.core.dates import validate_center_year
from telesales.core.forms import StyledForm
from telesales.leads.services import WORKING_STATUSES
from telesales.operations.choices import (
    ContactOutcome,
    DeliveryMethod,
    ExitReassign,
    NoticeChannel,
    VisitOutcome,
)
from telesales.operations.services import ENDINGS, RULESET_PARAMETERS
from telesales.org.models import Person, Team
from telesales.policies.choices import ProductCategory

NOTE_MAX = 1000


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _day(label, **kwargs) -> forms.DateField:
    return forms.DateField(
        validators=[validate_center_year], label=label, widget=DateInput(), **kwargs
    )


def _note(label=None, required=False) -> forms.CharField:
    return forms.CharField(
        label=label or _("Note"),
        required=required,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _working_people():
    return (
        Person.objects.filter(status__in=WORKING_STATUSES)
        .select_related("team")
        .order_by("team__name", "name")
    )


class PersonChoiceField(forms.ModelChoiceField):
    """A person named with their employee number in the reader's language's brackets:
    "张伟（F000012）" in Chinese, "Zhang Wei (F000012)" in English (``Person.__str__`` writes
    half-width ones whatever the language)."""

    def label_from_instance(self, obj) -> str:
        return gettext("%(name)s (%(employee_no)s)") % {
            "name": obj.name,
            "employee_no": obj.employee_no,
        }


def _pick(label, choices, required_message) -> forms.ChoiceField:
    """A choice the user must make: it starts blank, so a record never takes the first option
    (a promise to pay, a confirmed return visit, a surrender) because nobody changed it."""
    return forms.ChoiceField(
        label=label,
        choices=[("", "---------"), *choices],
        error_messages={"required": required_message},
    )


class StyledForm(StyledForm, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# --- Renewal tasks ----------------------------------------------------------------------------
class PaymentForm(StyledForm):
    paid_date = _day(_("Paid on"), initial=timezone.localdate)
    amount = forms.DecimalField(label=_("Amount"), max_digits=12, decimal_places=2, min_value=0)
    note = _note()


class ContactForm(StyledForm):
    outcome = _pick(_("Outcome"), ContactOutcome.choices, _("Choose an outcome"))
    note = _note()


class OwnerForm(StyledForm):
    owner = PersonChoiceField(label=_("Owner"), queryset=Person.objects.none(), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    def __init__(self, *args, reason_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _working_people()
        self.fields["owner"].empty_label = _("Renewal operations (the pool)")
        self.fields["reason"].required = reason_required


# --- Deliveries -------------------------------------------------------------------------------
class DeliverySendForm(StyledForm):
    method = forms.ChoiceField(label=_("Delivery method"), choices=DeliveryMethod.choices)
    sent_on = _day(_("Sent on"), initial=timezone.localdate)
    tracking_ref = forms.CharField(label=_("Tracking reference"), max_length=100, required=False)


class DayForm(StyledForm):
    day = _day(_("Date"), initial=timezone.localdate)


class ProblemForm(StyledForm):
    day = _day(_("Date"), initial=timezone.localdate)
    problem = forms.CharField(label=_("What went wrong"), max_length=300)


# --- In force ---------------------------------------------------------------------------------
class ReinstateForm(StyledForm):
    on = _day(_("Reinstated on"), initial=timezone.localdate)
    note = _note()


class EndForm(StyledForm):
    status = _pick(
        _("Ending"), [(s.value, s.label) for s in ENDINGS], _("Choose how the policy ended")
    )
    on = _day(_("Ended on"), initial=timezone.localdate)
    note = _note(required=True)


class WaiveForm(StyledForm):
    reason = forms.CharField(label=_("Reason"), max_length=300)


# --- Return visits ----------------------------------------------------------------------------
class VisitForm(StyledForm):
    outcome = _pick(_("Outcome"), VisitOutcome.choices, _("Choose an outcome"))
    note = _note()


class ResolveForm(StyledForm):
    note = _note(_("How it was resolved"), required=True)


# --- Exit notices -----------------------------------------------------------------------------
class NoticeForm(StyledForm):
    channel = forms.ChoiceField(label=_("Notified by"), choices=NoticeChannel.choices)
    note = _note()


class TransferForm(StyledForm):
    # "From" and "To" alone are date-range words in the catalogue: these name people.
    from_person = PersonChoiceField(
        label=pgettext_lazy("servicing transfer", "Hand over from"),
        queryset=Person.objects.none(),
    )
    to_person = PersonChoiceField(
        label=pgettext_lazy("servicing transfer", "Hand over to"),
        queryset=Person.objects.none(),
        required=False,
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_person"].queryset = (
            Person.objects.filter(serviced_policies__isnull=False).distinct().order_by("name")
        )
        self.fields["to_person"].queryset = _working_people()
        self.fields["to_person"].empty_label = _("Renewal operations (the pool)")


# --- Receipts ---------------------------------------------------------------------------------
class ReceiptUploadForm(StyledForm):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK) or XLSX: policy number, period, amount, paid date"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".csv,.xlsx,.txt"


# --- Persistency ------------------------------------------------------------------------------
class PersistencyForm(StyledForm):
    month = forms.CharField(label=_("Month"), max_length=7, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    by = forms.ChoiceField(
        label=_("Breakdown"),
        choices=[("team", _("By team")), ("agent", _("By agent"))],
        required=False,
    )

    def __init__(self, *args, teams=None, whole_center=False, latest="", **kwargs):
        """``teams``: the teams the viewer may choose (``None``: no choice, an agent's own
        figures); ``whole_center``: the viewer sees the whole center, offered as the empty
        choice (a team lead is not offered it: they see their teams only); ``latest``: the
        last month that can be measured (``YYYY-MM``)."""
        super().__init__(*args, **kwargs)
        attrs = {"type": "month", "class": "form-control form-control-sm"}
        if latest:
            attrs["max"] = latest
        self.fields["month"].widget = forms.TextInput(attrs=attrs)
        if teams is None:
            del self.fields["team"]
        else:
            self.fields["team"].queryset = teams
            self.fields["team"].empty_label = _("The whole center") if whole_center else None


# --- Rule sets --------------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    items = [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]
    try:
        return [int(p) for p in items]
    except ValueError:
        raise forms.ValidationError(_("Whole days separated by commas, e.g. 30, 7, 1")) from None


def _code_list(text: str) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


class RuleSetForm(StyledForm):
    name = forms.CharField(label=pgettext_lazy("rule set name", "Name"), max_length=100)
    effective_from = _day(_("Effective from"), initial=timezone.localdate)
    grace_days = forms.IntegerField(label=_("Grace period (days)"), min_value=1, max_value=365)
    reinstatement_days = forms.IntegerField(
        label=_("Reinstatement possible for (days)"), min_value=1, max_value=3650
    )
    reminder_days_before = forms.CharField(
        label=_("Reminders (days before the due date)"), max_length=100
    )
    schedule_years_ahead = forms.IntegerField(
        label=_("Schedule kept ahead (years)"), min_value=1, max_value=100
    )
    renewal_recontact_days = forms.IntegerField(
        label=_("Call a reached renewal customer again after (days)"), min_value=1, max_value=90
    )
    default_delivery_method = forms.ChoiceField(
        label=_("Default delivery"), choices=DeliveryMethod.choices
    )
    delivery_overdue_days = forms.IntegerField(
        label=_("Delivery overdue after (days)"), min_value=1, max_value=365
    )
    return_visit_categories = forms.MultipleChoiceField(
        label=_("Return visits for the categories"),
        choices=ProductCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    return_visit_products = forms.CharField(
        label=_("…and for the products (codes)"), max_length=500, required=False
    )
    return_visit_excluded_products = forms.CharField(
        label=_("Never for the products (codes)"), max_length=500, required=False
    )
    return_visit_due_days = forms.IntegerField(
        label=_("Return visit due (days after the receipt)"), min_value=0, max_value=365
    )
    return_visit_max_attempts = forms.IntegerField(
        label=_("Attempts before unreachable"), min_value=1, max_value=20
    )
    exit_notice_days = forms.IntegerField(
        label=_("Exit notice within (days)"), min_value=1, max_value=365
    )
    exit_notice_min_term_years = forms.IntegerField(
        label=_("Exit notice for terms longer than (years)"), min_value=0, max_value=100
    )
    exit_reassign_to = forms.ChoiceField(
        label=_("A leaving agent's policies go to"), choices=ExitReassign.choices
    )
    reason = forms.CharField(label=_("Why this change"), max_length=300, required=False)

    @classmethod
    def initial_from(cls, ruleset) -> dict:
        data = {name: getattr(ruleset, name) for name in RULESET_PARAMETERS}
        data["reminder_days_before"] = ", ".join(str(d) for d in ruleset.reminder_offsets)
        data["return_visit_products"] = ", ".join(ruleset.return_visit_products or [])
        data["return_visit_excluded_products"] = ", ".join(
            ruleset.return_visit_excluded_products or []
        )
        data["effective_from"] = timezone.localdate()
        return data

    def clean_reminder_days_before(self):
        return _int_list(self.cleaned_data.get("reminder_days_before", ""))

    def clean_return_visit_products(self):
        return _code_list(self.cleaned_data.get("return_visit_products", ""))

    def clean_return_visit_excluded_products(self):
        return _code_list(self.cleaned_data.get("return_visit_excluded_products", ""))

    def parameters(self) -> dict:
        return {name: self.cleaned_data[name] for name in RULESET_PARAMETERS}
