"""HTML forms for lead data. They parse input; services decide and write."""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from telesales.core.dates import validate_center_year
from telesales.core.errors import ValidationFailed
from telesales.core.forms import StyledForm
from telesales.leads.choices import (
    AllocationStrategy,
    DncSource,
    Gender,
    LeadGrade,
    LeadState,
    Relation,
)
from telesales.leads.models import Channel, LeadBatch, LeadRuleSet
from telesales.leads.number_access import clean_lookup_phone
from telesales.leads.rulesets import PARAMETER_FIELDS
from telesales.org.choices import TeamStage
from telesales.org.models import Person, Team

SEARCH_MAX = 50
REASON_MAX = 300


def _no_nul(value: str) -> str:
    """PostgreSQL can neither store nor compare NUL characters: refuse them as a field error."""
    if value and "\x00" in value:
        raise forms.ValidationError(_("Must not contain NUL characters."))
    return value


# What a Chinese input method types in full-width mode: the full-width forms of the ASCII
# characters (U+FF01–U+FF5E: "１０", "Ｅ００１") and the ideographic space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: " "}


def _half_width(value: str) -> str:
    """``"Ｅ００１　１０"`` → ``"E001 10"``. Only full-width forms change: superscripts,
    circled or other-script digits stay what they are (and are refused where a count is due)."""
    return value.translate(_HALF_WIDTH)


def _search(value: str) -> str:
    """A lead number is an integer: long or non-ASCII digit strings search nothing."""
    value = (value or "").replace("\x00", "").strip()
    if value.isdigit() and not (value.isascii() and len(value) <= 18):
        raise forms.ValidationError(_("Not a lead number."))
    return value


# --- Lists -------------------------------------------------------------------------------
STATE_FILTER = [("", _("Any state")), ("private", _("Private pools (owned or in progress)"))]


class LeadFilterForm(StyledForm, forms.Form):
    q = forms.CharField(required=False, max_length=SEARCH_MAX, label=_("Search"))
    state = forms.ChoiceField(
        choices=[*STATE_FILTER, *LeadState.choices], required=False, label=_("State")
    )
    grade = forms.ChoiceField(
        choices=[("", _("Any grade")), *LeadGrade.choices], required=False, label=_("Lead grade")
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(), required=False, label=_("Channel")
    )
    batch = forms.ModelChoiceField(
        queryset=LeadBatch.objects.none(), required=False, label=_("Batch")
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label=_("Team"))

    def __init__(self, *args, channels=None, batches=None, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Customer name or lead number")
        self.fields["channel"].empty_label = _("Any channel")
        self.fields["batch"].empty_label = _("Any batch")
        self.fields["team"].empty_label = _("Any team")
        for name, qs in (("channel", channels), ("batch", batches), ("team", teams)):
            if qs is None:
                del self.fields[name]
            else:
                self.fields[name].queryset = qs
        self._style()

    def clean_q(self):
        return _search(self.cleaned_data.get("q", ""))

    def selector_filters(self) -> dict:
        """The cleaned filters as keyword arguments of ``selectors.lead_list``."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "state": data.get("state") or None,
            "grade": data.get("grade") or None,
            "channel_id": data["channel"].pk if data.get("channel") else None,
            "batch_id": data["batch"].pk if data.get("batch") else None,
            "team_id": data["team"].pk if data.get("team") else None,
            "search": data.get("q", ""),
        }


class PoolFilterForm(StyledForm, forms.Form):
    grade = forms.ChoiceField(
        choices=[("", _("Any grade")), *LeadGrade.choices], required=False, label=_("Lead grade")
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(), required=False, label=_("Channel")
    )

    def __init__(self, *args, channels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = channels if channels is not None else Channel.objects
        self.fields["channel"].empty_label = _("Any channel")
        self._style()


# --- Lead actions ------------------------------------------------------------------------
class HouseholdMemberForm(StyledForm, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50, strip=True)
    mobile = forms.CharField(label=_("Mobile"), max_length=40, strip=True)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False
    )
    birth_date = forms.DateField(
        validators=[validate_center_year],
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    relation = forms.ChoiceField(
        label=_("Relation to the customer"),
        choices=[("", "—"), *Relation.choices],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReasonForm(StyledForm, forms.Form):
    reason = forms.CharField(
        label=_("Reason"), min_length=2, max_length=REASON_MAX, strip=True, required=True
    )

    def __init__(self, *args, placeholder=None, **kwargs):
        super().__init__(*args, **kwargs)
        if placeholder:
            self.fields["reason"].widget.attrs["placeholder"] = placeholder
        self._style()


class NumberAccessForm(StyledForm, forms.Form):
    """Checks both fields itself (the number with the lookup's own check), so that a page
    with a bad number and no reason names both at once."""

    phone = forms.CharField(label=_("Phone number"), max_length=40, strip=True)
    reason = forms.CharField(
        label=_("Reason"),
        min_length=2,
        max_length=REASON_MAX,
        strip=True,
        required=True,
        error_messages={
            "required": _("say why you look this number up"),
            "min_length": _("say why you look this number up"),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update(autocomplete="off", placeholder="138 0013 8000")
        self.fields["reason"].widget.attrs["placeholder"] = _("e.g. complaint no. 2026-118")
        self._style()

    def clean_phone(self):
        phone = _no_nul(self.cleaned_data.get("phone") or "")
        try:
            clean_lookup_phone(phone)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.fields.get("phone") or exc.message) from None
        return phone


# --- Import wizard -----------------------------------------------------------------------
class BatchUploadForm(StyledForm, forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8 or GBK) or XLSX, one lead per row")
    )
    name = forms.CharField(label=_("Batch name"), max_length=100)
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(is_active=True), required=False, label=_("Channel")
    )
    new_channel_code = forms.SlugField(
        label=_("…or a new channel code"),
        max_length=40,
        required=False,
        help_text=_(
            "Letters, digits, - and _, e.g. gift-2026q4; the code is its name until "
            "someone renames it"
        ),
    )
    cost = forms.DecimalField(
        label=_("Cost of the batch (yuan)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        initial=Decimal("0"),
    )
    default_grade = forms.ChoiceField(
        label=_("Grade of rows without one"), choices=LeadGrade.choices, initial=LeadGrade.C
    )
    required_grade = forms.TypedChoiceField(
        label=_("Sales-capability grade required"),
        choices=[(i, str(i)) for i in range(1, 5)],
        coerce=int,
        initial=1,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].empty_label = _("Choose a channel")
        self.fields["file"].widget.attrs["accept"] = ".csv,.xlsx,.xls,.txt"
        self._style()

    def clean(self):
        data = super().clean()
        channel, code = data.get("channel"), data.get("new_channel_code")
        if channel and code:
            self.add_error("new_channel_code", _("Choose a channel or give a new code, not both."))
        elif not channel and not code and "new_channel_code" not in self.errors:
            self.add_error("channel", _("Choose a channel or give a new channel code."))
        elif code and Channel.objects.filter(code=code).exists():
            self.add_error("new_channel_code", _("This code exists already: choose it above."))
        return data

    def channel_code(self) -> str:
        data = self.cleaned_data
        return data["channel"].code if data.get("channel") else data.get("new_channel_code", "")


class MappingForm(forms.Form):
    """One select per column of the file: which field the column holds (or none)."""

    def __init__(
        self, *args, headers: list[str], targets: list[tuple[str, str]], initial_map=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", _("— ignore this column —")), *targets]
        initial_map = initial_map or {}
        for i, header in enumerate(headers):
            self.fields[f"col_{i}"] = forms.ChoiceField(
                label=header or _("Column %(n)d") % {"n": i + 1},
                choices=choices,
                required=False,
                initial=initial_map.get(header, ""),
            )
            self.fields[f"col_{i}"].widget.attrs["class"] = "form-select form-select-sm"

    @property
    def unrecognised(self) -> list[str]:
        """The columns nothing was guessed for: the reason the mapping step is shown."""
        return [
            str(self.fields[f"col_{i}"].label)
            for i in range(len(self.headers))
            if not self.fields[f"col_{i}"].initial
        ]

    def clean(self):
        data = super().clean()
        seen: dict[str, str] = {}
        for i, _header in enumerate(self.headers):
            target = data.get(f"col_{i}")
            if not target:
                continue
            if target in seen:
                self.add_error(f"col_{i}", _("Another column is mapped to this field already."))
            seen[target] = self.headers[i]
        return data

    def mapping(self) -> dict[str, str]:
        """header → target field, for the columns that are mapped."""
        return {
            self.headers[i]: self.cleaned_data[f"col_{i}"]
            for i in range(len(self.headers))
            if self.cleaned_data.get(f"col_{i}")
        }


# --- Allocation --------------------------------------------------------------------------
class AllocationForm(StyledForm, forms.Form):
    strategy = forms.ChoiceField(
        label=_("Strategy"), choices=AllocationStrategy.choices, widget=forms.RadioSelect
    )
    batch = forms.ModelChoiceField(
        queryset=LeadBatch.objects.none(), required=False, label=_("Batch")
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(), required=False, label=_("Channel")
    )
    grades = forms.MultipleChoiceField(
        label=_("Lead grades"),
        choices=LeadGrade.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    limit = forms.IntegerField(
        label=_("At most this many leads"), required=False, min_value=1, max_value=200_000
    )
    new_hire_protection = forms.BooleanField(
        label=_("Reserve a share of A/B leads for new hires"), required=False, initial=True
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    agents = forms.ModelMultipleChoiceField(
        label=_("Agents"),
        queryset=Person.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    manual_counts = forms.CharField(
        label=_("Manual: leads per agent"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One line per agent: employee number, a space, the number of leads "
            "(manual strategy only)."
        ),
    )

    def __init__(self, *args, batches=None, channels=None, teams=None, agents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = batches if batches is not None else LeadBatch.objects
        self.fields["batch"].empty_label = _("Any batch")
        self.fields["channel"].queryset = channels if channels is not None else Channel.objects
        self.fields["channel"].empty_label = _("Any channel")
        self.fields["teams"].queryset = teams if teams is not None else Team.objects.none()
        self.fields["agents"].queryset = agents if agents is not None else Person.objects.none()
        self.fields["agents"].label_from_instance = lambda p: (
            f"{p.team.name} · {p.name} ({p.employee_no})"
        )
        self._style()
        self.fields["agents"].widget.attrs["class"] = "form-select form-select-sm"

    def clean_manual_counts(self):
        text = _half_width(_no_nul(self.cleaned_data.get("manual_counts") or ""))
        counts: dict[int, int] = {}
        if not text.strip():
            return counts
        by_no = {p.employee_no: p.pk for p in self.fields["agents"].queryset}
        problems = []
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isascii() or not parts[1].isdigit():
                problems.append(_("line %(n)d: employee number and a count") % {"n": number})
                continue
            pk = by_no.get(parts[0])
            count = int(parts[1][:7])
            if pk is None:
                problems.append(
                    _("line %(n)d: no agent %(no)s") % {"n": number, "no": parts[0][:20]}
                )
            elif not 1 <= count <= 10_000:
                problems.append(_("line %(n)d: 1 to 10000 leads") % {"n": number})
            else:
                counts[pk] = counts.get(pk, 0) + count
        if problems:
            raise forms.ValidationError(problems[:10])
        return counts

    def clean(self):
        data = super().clean()
        if data.get("strategy") == AllocationStrategy.MANUAL:
            if not data.get("manual_counts") and "manual_counts" not in self.errors:
                self.add_error("manual_counts", _("Give the leads per agent for a manual run."))
        elif not data.get("teams") and not data.get("agents"):
            self.add_error("teams", _("Choose at least one team or agent."))
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        criteria = {"new_hire_protection": bool(data.get("new_hire_protection"))}
        if data.get("batch"):
            criteria["batch_id"] = data["batch"].pk
        if data.get("channel"):
            criteria["channel_id"] = data["channel"].pk
        if data.get("grades"):
            criteria["grades"] = list(data["grades"])
        if data.get("limit"):
            criteria["limit"] = data["limit"]
        targets = {
            "team_ids": [t.pk for t in data.get("teams") or []],
            "person_ids": [p.pk for p in data.get("agents") or []],
        }
        manual = None
        if data.get("strategy") == AllocationStrategy.MANUAL:
            manual = {"counts": {str(k): v for k, v in data["manual_counts"].items()}}
        return {
            "strategy": data["strategy"],
            "criteria": criteria,
            "targets": targets,
            "manual": manual,
        }


# --- Rule sets ---------------------------------------------------------------------------
class _LevelMapField(forms.CharField):
    """A JSON object of level code to number, typed as text."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if not value or not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except ValueError:
            raise forms.ValidationError(_('Not valid JSON; write e.g. {"S1": 300}.')) from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(_('A JSON object such as {"S1": 300}.'))
        return parsed


class RuleSetForm(StyledForm, forms.ModelForm):
    private_cap_by_level = _LevelMapField(
        label=_("Private pool cap by level"),
        required=False,
        max_length=2000,
        help_text=_('Level code to cap, e.g. {"T0": 150, "S3": 600}'),
    )
    level_weights = _LevelMapField(
        label=_("Allocation weight by level"),
        required=False,
        max_length=2000,
        help_text=_('Level code to weight, e.g. {"T0": 0.8, "S3": 1.4}; missing levels weigh 1'),
    )
    stage = forms.ChoiceField(
        label=_("For teams in stage"),
        choices=[("", _("Every team (general rules)")), *TeamStage.choices],
        required=False,
    )
    reason = forms.CharField(label=_("Why this change"), max_length=REASON_MAX, required=False)

    class Meta:
        model = LeadRuleSet
        fields = ["name", "stage", "effective_from", *PARAMETER_FIELDS]
        widgets = {"effective_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.IntegerField):
                field.validators.append(MaxValueValidator(1_000_000))
                field.max_value = field.max_value or 1_000_000
                field.widget.attrs.setdefault("max", 1_000_000)
            if isinstance(field, forms.DecimalField):
                field.validators.append(MinValueValidator(Decimal("0")))
        self.fields["effective_from"].initial = timezone.localdate()
        self._style()

    def _post_clean(self):
        # The service validates the rules (with a message per field); the form only parses.
        pass

    def parameters(self) -> dict:
        return {name: self.cleaned_data[name] for name in PARAMETER_FIELDS}


# --- DNC ---------------------------------------------------------------------------------
class _DncBlockForm(StyledForm, forms.Form):
    """What every DNC entry form asks: source, reason, and for how long."""

    source = forms.ChoiceField(label=_("Source"), choices=DncSource.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    days = forms.IntegerField(
        label=_("Blocked for (days)"),
        required=False,
        min_value=1,
        max_value=36500,
        help_text=_("Empty: the rule set's period (at least 180 days)"),
    )

    def clean(self):
        data = super().clean()
        if data.get("permanent") and data.get("days"):
            self.add_error("days", _("A permanent block has no duration."))
        return data


class DncAddForm(_DncBlockForm):
    phone = forms.CharField(label=_("Phone number"), max_length=40)
    permanent = forms.BooleanField(
        label=_("Permanent: never market to this number"), required=False
    )
    field_order = ["phone", "source", "reason", "days", "permanent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].initial = DncSource.CUSTOMER_REQUEST
        self.fields["phone"].widget.attrs["autocomplete"] = "off"
        self._style()


class DncImportForm(_DncBlockForm):
    file = forms.FileField(label=_("File"), help_text=_("CSV or XLSX, one number per row"))
    permanent = forms.BooleanField(
        label=_("Permanent: never market to these numbers"), required=False
    )
    field_order = ["file", "source", "reason", "days", "permanent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].initial = DncSource.IMPORT
        self.fields["file"].widget.attrs["accept"] = ".csv,.xlsx,.xls,.txt"
        self._style()


# --- Exports -----------------------------------------------------------------------------
class RejectionReportForm(StyledForm, forms.Form):
    """A batch's rejection report with the full numbers: a reveal, so it takes a reason
    (checked by the service, whose message the page shows)."""

    format = forms.ChoiceField(
        label=_("Format"), choices=[("xlsx", "Excel (XLSX)"), ("csv", "CSV")], initial="xlsx"
    )
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, required=False, strip=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs["placeholder"] = _("e.g. complaint no. 2026-118")
        self._style()


class LeadExportForm(LeadFilterForm):
    format = forms.ChoiceField(
        label=_("Format"), choices=[("xlsx", "Excel (XLSX)"), ("csv", "CSV")], initial="xlsx"
    )
    include_full_numbers = forms.BooleanField(label=_("Include full phone numbers"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, required=False)

    def __init__(self, *args, may_reveal=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_reveal:
            del self.fields["include_full_numbers"]
        self._style()

    def clean(self):
        data = super().clean()
        if "\x00" in (data.get("reason") or ""):
            self.add_error("reason", _("Must not contain NUL characters."))
        elif data.get("include_full_numbers") and len((data.get("reason") or "").strip()) < 2:
            self.add_error("reason", _("Say why you need the full numbers."))
        return data


class ChannelForm(forms.Form):
    """Create or edit a source channel (the code only on creation)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Letters, digits, hyphens and underscores; imports name the channel by it"),
    )
    name = forms.CharField(label=pgettext_lazy("channel name", "Name"), max_length=100)
    default_cost_per_lead = forms.DecimalField(
        label=_("Default cost per lead"),
        min_value=0,
        max_value=100000,
        decimal_places=2,
        initial=Decimal("0"),
    )
    consent_wording = forms.CharField(
        label=_("Consent wording"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the customer agreed to, when the file carries no consent columns"),
    )
    is_active = forms.BooleanField(
        label=_("Active (new imports may use it)"), required=False, initial=True
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]
        for field in self.fields.values():
            if not isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-control")
            else:
                field.widget.attrs.setdefault("class", "form-check-input")
