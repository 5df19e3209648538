"""HTML forms for tickets. They parse input; services decide and write."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telesales.core.dates import validate_center_year
from telesales.core.forms import StyledForm
from telesales.org.models import Person
from telesales.tickets.choices import (
    PRIORITY_ORDER,
    REPORT_MAX_DAYS,
    TicketChannel,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from telesales.tickets.models import MAX_MANAGER_HOURS, MAX_TARGET_HOURS
from telesales.tickets.rulesets import field_name
from telesales.tickets.services import EXTERNAL_REF_MAX, NOTE_MAX, SUBJECT_MAX, TEXT_MAX

SEARCH_MAX = 50
#: The free-text fields whose typed value is shown again (masked) when a form is refused.
TEXT_FIELDS = ("q", "subject", "description", "external_ref", "note", "resolution", "reason")


def _person_label(person: Person) -> str:
    return f"{person.name} · {person.team.name}" if person.team_id else person.name


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _person_label(obj)


# --- Queue -------------------------------------------------------------------------------
STATUS_FILTER = [
    ("active", _("Not yet resolved")),
    ("all", _("Any status")),
    *TicketStatus.choices,
]
QUEUE_FILTER = [
    ("", _("Every ticket")),
    ("mine", _("Mine")),
    ("unassigned", _("Unassigned")),
    ("overdue", _("Overdue")),
    ("escalated", _("Escalated")),
]


#: The queue choice of a team lead: the tickets about their teams' agents or policies (the
#: complaints their home page card counts).
MY_TEAMS = ("teams", _("About my teams"))


class TicketFilterForm(StyledForm, forms.Form):
    """The queue's filters. A filter that is not understood (a bad date, say) is ignored and
    its error shown; the others still apply."""

    q = forms.CharField(required=False, max_length=SEARCH_MAX, label=_("Search"))
    status = forms.ChoiceField(choices=STATUS_FILTER, required=False, label=_("Status"))
    queue = forms.ChoiceField(choices=QUEUE_FILTER, required=False, label=_("Show"))
    kind = forms.ChoiceField(
        choices=[("", _("Any kind")), *TicketKind.choices], required=False, label=_("Kind")
    )
    channel = forms.ChoiceField(
        choices=[("", _("Any channel")), *TicketChannel.choices], required=False, label=_("Channel")
    )
    priority = forms.ChoiceField(
        choices=[("", _("Any priority")), *TicketPriority.choices],
        required=False,
        label=_("Priority"),
    )
    since = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("Opened from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("Opened to"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    customer = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )

    def __init__(self, *args, leads_teams: bool = False, **kwargs):
        """``leads_teams``: the user leads teams, so "About my teams" is offered."""
        super().__init__(*args, **kwargs)
        if leads_teams:
            self.fields["queue"].choices = [*QUEUE_FILTER, MY_TEAMS]
        self.fields["q"].widget.attrs["placeholder"] = _("Number, subject, customer or phone")
        self.fields["since"].widget.attrs["title"] = self.fields["since"].label
        self.fields["until"].widget.attrs["title"] = self.fields["until"].label
        self._style()

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("Must not be before the start date."))
        return data

    def selector_filters(self) -> dict:
        """The cleaned filters as keyword arguments of ``selectors.ticket_list``; a filter
        that is not valid is left out (its error is shown)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", None) or {}
        queue = data.get("queue") or ""
        return {
            "status": data.get("status") or "active",
            "kind": data.get("kind") or None,
            "channel": data.get("channel") or None,
            "priority": data.get("priority") or None,
            "mine": queue == "mine",
            "unassigned": queue == "unassigned",
            "overdue": queue == "overdue",
            "escalated": queue == "escalated",
            "about_my_teams": queue == MY_TEAMS[0],
            "opened_since": data.get("since"),
            "opened_until": data.get("until"),
            "customer_id": data.get("customer") or None,
            "search": (data.get("q") or "").strip(),
        }


# --- New ticket --------------------------------------------------------------------------
class TicketForm(StyledForm, forms.Form):
    kind = forms.ChoiceField(choices=TicketKind.choices, label=_("Kind"))
    channel = forms.ChoiceField(choices=TicketChannel.choices, label=_("Channel"))
    priority = forms.ChoiceField(
        choices=TicketPriority.choices, initial=TicketPriority.NORMAL, label=_("Priority")
    )
    subject = forms.CharField(max_length=SUBJECT_MAX, label=_("Subject"))
    description = forms.CharField(
        required=False,
        max_length=TEXT_MAX,
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    customer = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    policy_number = forms.CharField(
        required=False,
        max_length=32,
        label=_("Policy number"),
        help_text=_("Optional. Its holder becomes the customer when none is chosen."),
    )
    agent = PersonChoiceField(
        queryset=Person.objects.none(),
        required=False,
        label=_("Agent concerned"),
        help_text=_("The seller a complaint is about. Defaults to the policy's seller."),
    )
    owner = PersonChoiceField(queryset=Person.objects.none(), required=False, label=_("Owner"))
    external_ref = forms.CharField(
        required=False,
        max_length=EXTERNAL_REF_MAX,
        label=_("External reference"),
        help_text=_("The regulator's (12321) or insurer's case number"),
    )
    opened_at = forms.DateTimeField(
        validators=[validate_center_year],
        required=False,
        label=_("Received at"),
        help_text=_("Leave empty for now; set it when the request arrived earlier."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    def __init__(self, *args, agents=None, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents if agents is not None else Person.objects.none()
        self.fields["owner"].queryset = owners if owners is not None else Person.objects.none()
        self.fields["agent"].empty_label = _("None")
        self.fields["owner"].empty_label = _("Unassigned")
        self._style()


# --- Actions on a ticket -------------------------------------------------------------------
class AssignForm(StyledForm, forms.Form):
    owner = PersonChoiceField(queryset=Person.objects.none(), label=_("Owner"))
    note = forms.CharField(required=False, max_length=NOTE_MAX, label=_("Note"))

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners if owners is not None else Person.objects.none()
        self.fields["owner"].empty_label = _("Choose the new owner")
        self._style()


class RespondForm(StyledForm, forms.Form):
    note = forms.CharField(
        max_length=NOTE_MAX,
        label=_("Reply or contact note"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    waiting_customer = forms.BooleanField(required=False, label=_("Now waiting for the customer"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ResolveForm(StyledForm, forms.Form):
    resolution = forms.CharField(
        max_length=TEXT_MAX, label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class CloseForm(StyledForm, forms.Form):
    note = forms.CharField(required=False, max_length=NOTE_MAX, label=_("Note"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReopenForm(StyledForm, forms.Form):
    reason = forms.CharField(max_length=NOTE_MAX, label=_("Why reopen?"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# --- Reports and rules ---------------------------------------------------------------------
class PeriodForm(StyledForm, forms.Form):
    since = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        validators=[validate_center_year],
        required=False,
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        end = until or timezone.localdate()
        if since and since > end:
            self.add_error("since", _("Must not be after the end."))
        elif since and (end - since).days > REPORT_MAX_DAYS:
            self.add_error("since", _("At most two years."))
        return data


class RuleSetForm(StyledForm, forms.Form):
    """A new version: name, date, manager escalation and one pair of hours per kind and
    priority (``complaint__urgent__response``, ``complaint__urgent__resolution``, …)."""

    name = forms.CharField(max_length=100, label=_("Version name"))
    effective_from = forms.DateField(
        validators=[validate_center_year],
        label=_("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    manager_escalation_hours = forms.IntegerField(
        min_value=1,
        max_value=MAX_MANAGER_HOURS,
        label=_("Escalate to the manager after (hours)"),
    )
    reason = forms.CharField(required=False, max_length=500, label=_("Reason for the change"))

    def __init__(self, *args, matrix: dict | None = None, manager_hours: int = 24, **kwargs):
        super().__init__(*args, **kwargs)
        matrix = matrix or {}
        kind_labels = dict(TicketKind.choices)
        priority_labels = dict(TicketPriority.choices)
        which_labels = {"response": _("first response (h)"), "resolution": _("resolution (h)")}
        self.fields["effective_from"].initial = timezone.localdate() + dt.timedelta(days=1)
        self.fields["manager_escalation_hours"].initial = manager_hours
        for kind in TicketKind.values:
            for priority in PRIORITY_ORDER:
                response, resolution = matrix.get((kind, priority), (None, None))
                for which, initial in (("response", response), ("resolution", resolution)):
                    self.fields[field_name(kind, priority, which)] = forms.IntegerField(
                        min_value=1,
                        max_value=MAX_TARGET_HOURS,
                        initial=initial,
                        label=f"{kind_labels[kind]} · {priority_labels[priority]} · "
                        f"{which_labels[which]}",
                        widget=forms.NumberInput(
                            attrs={
                                "style": "width: 5.5rem",
                                "aria-label": f"{kind_labels[kind]} · "
                                f"{priority_labels[priority]} · {which_labels[which]}",
                            }
                        ),
                    )
        self._style()

    def targets(self) -> dict[str, dict[str, dict[str, int]]]:
        data = self.cleaned_data
        return {
            kind: {
                priority: {
                    "response_hours": data[field_name(kind, priority, "response")],
                    "resolution_hours": data[field_name(kind, priority, "resolution")],
                }
                for priority in PRIORITY_ORDER
            }
            for kind in TicketKind.values
        }

    def rows(self) -> list[dict]:
        """The matrix for the template: a row per kind, a pair of bound fields per priority."""
        return [
            {
                "kind": kind,
                "label": label,
                "cells": [
                    (
                        self[field_name(kind, priority, "response")],
                        self[field_name(kind, priority, "resolution")],
                    )
                    for priority in PRIORITY_ORDER
                ],
            }
            for kind, label in TicketKind.choices
        ]
