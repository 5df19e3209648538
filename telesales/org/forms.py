"""HTML forms for organisation records. They parse input; services decide and write."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from telesales.core.forms import StyledForm
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.models import Center, Level, Person, Seat, Team
from telesales.org.selectors import linkable_login_list


class _Styled(StyledForm):
    dense = False


class PersonForm(_Styled, forms.ModelForm):
    class Meta:
        model = Person
        fields = [
            "name",
            "employee_no",
            "team",
            "hire_date",
            "status",
            "left_on",
            "contract_type",
            "level",
            "capability_grade",
            "practice_reg_no",
            "leader",
            "recruiter",
            "mentor",
            "developed_by",
            "developed_on",
            "user",
        ]
        widgets = {
            "hire_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "left_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "developed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        # A person's name (姓名), not the name of a thing (名称) that the model field shares.
        labels = {"name": pgettext_lazy("person name", "Name")}

    def __init__(self, *args, center=None, user=None, **kwargs):
        """``user``: who fills the form in; the login choices are the ones they may link
        (a center manager's or a superuser's login only for a center manager)."""
        super().__init__(*args, **kwargs)
        current = Person.objects.exclude(status=PersonStatus.LEFT).order_by("name")
        if center is not None:
            self.fields["team"].queryset = Team.objects.filter(center=center, is_active=True)
            current = current.filter(center=center)
        for name in ("leader", "recruiter", "mentor", "developed_by"):
            self.fields[name].queryset = current
        self.fields["level"].queryset = Level.objects.filter(is_active=True)
        self.fields["user"].queryset = linkable_login_list(user=user, person=self.instance)
        self.fields["user"].help_text = _("The login this employee signs in with")
        self._style()

    def _post_clean(self):
        # The service runs the model validation and the cross-field rules; the form only parses.
        pass


class TeamForm(_Styled, forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "kind", "stage", "leader", "founded_on", "is_active"]
        widgets = {"founded_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, center=None, **kwargs):
        super().__init__(*args, **kwargs)
        leaders = Person.objects.exclude(status=PersonStatus.LEFT).order_by("name")
        if center is not None:
            leaders = leaders.filter(center=center)
        self.fields["leader"].queryset = leaders
        self._style()

    def _post_clean(self):
        pass


class LevelForm(_Styled, forms.ModelForm):
    class Meta:
        model = Level
        fields = [
            "code",
            "name",
            "series",
            "rank",
            "base_salary",
            "assessment_period",
            "description",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        # The pay run reads base pay and the assessment calendar from the basic law's rule
        # set, not from here (QA, session 20: a base salary changed here paid nothing more).
        help_texts = {
            "base_salary": _(
                "For reference on the ladder: pay uses the base pay of the basic law's rule set "
                "in force (Pay → Rule sets)."
            ),
            "assessment_period": _(
                "For reference on the ladder: assessments use the periods of the basic law's "
                "rule set in force."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def _post_clean(self):
        pass


class SeatForm(_Styled, forms.ModelForm):
    class Meta:
        model = Seat
        fields = ["code", "site", "status", "monthly_cost", "phone_line", "person"]

    def __init__(self, *args, center=None, **kwargs):
        super().__init__(*args, **kwargs)
        people = Person.objects.exclude(status=PersonStatus.LEFT).order_by("name")
        if center is not None:
            people = people.filter(center=center)
        self.fields["person"].queryset = people
        self.fields["person"].required = False
        self._style()

    def _post_clean(self):
        pass


class PersonFilterForm(_Styled, forms.Form):
    q = forms.CharField(required=False, max_length=50, label=_("Search"))
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, label=_("Team"), empty_label=_("All teams")
    )
    status = forms.ChoiceField(
        choices=[("", _("Current staff")), *PersonStatus.choices],
        required=False,
        label=_("Status"),
    )
    level = forms.ModelChoiceField(
        queryset=Level.objects.all(), required=False, label=_("Level"), empty_label=_("All levels")
    )
    team_kind = forms.ChoiceField(
        choices=[("", _("All kinds of team")), *TeamKind.choices],
        required=False,
        label=_("Kind of team"),
    )
    left_since = forms.DateField(
        required=False,
        label=_("Left from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    left_until = forms.DateField(
        required=False,
        label=_("Left until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    #: The fields that narrow the list (all but the page number): any of them set, and an
    #: empty list means "nobody matches", not "nobody here".
    FILTERS = ("q", "team", "status", "level", "team_kind", "left_since", "left_until")

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams
        self._style()

    def clean(self):
        data = super().clean()
        since, until = data.get("left_since"), data.get("left_until")
        if since and until and since > until:
            self.add_error("left_since", _("The period ends before it starts."))
        return data

    def has_filters(self) -> bool:
        """Whether the list is narrowed: filters given, and understood (filters that are not
        are ignored, and the page says so)."""
        return (
            self.is_bound
            and self.is_valid()
            and any(str(self.data.get(name) or "").strip() for name in self.FILTERS)
        )

    def selector_filters(self) -> dict:
        """The keyword arguments of ``selectors.person_list``; none when a filter is invalid
        (the page says they were ignored)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "team_id": data["team"].pk if data.get("team") else None,
            "status": data.get("status") or None,
            "level_id": data["level"].pk if data.get("level") else None,
            "search": data.get("q") or "",
            "team_kind": data.get("team_kind") or None,
            "left_since": data.get("left_since"),
            "left_until": data.get("left_until"),
        }


def _role_choices():
    from telesales.core.roles import Role

    return [(r.value, r.label) for r in Role]


class LoginCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=_role_choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs["class"] = "form-control"


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=_role_choices, widget=forms.CheckboxSelectMultiple
    )


class CenterForm(_Styled, forms.ModelForm):
    class Meta:
        model = Center
        fields = ["name", "code", "city"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def _post_clean(self):
        pass


class SeatPeriodForm(forms.Form):
    """The month whose productivity the seats page shows (``YYYY-MM``; default the current
    month, to date). A month that has not begun is refused."""

    month = forms.CharField(
        label=_("Month"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "class": "form-control form-control-sm"}),
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["month"].widget.attrs["max"] = f"{today:%Y-%m}"

    def clean_month(self) -> dt.date | None:
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        try:
            year, number = text.split("-")
            if len(year) != 4:
                raise ValueError
            start = dt.date(int(year), int(number), 1)
        except ValueError:
            raise forms.ValidationError(_("A month such as 2026-11")) from None
        if start > self.today.replace(day=1):
            raise forms.ValidationError(_("%(month)s has not begun") % {"month": f"{start:%Y-%m}"})
        if start.year < 2000:
            raise forms.ValidationError(_("A month such as 2026-11"))
        return start

    def period(self) -> tuple[dt.date, dt.date]:
        """The days in effect: the month chosen (or the current one), up to today."""
        start = self.cleaned_data.get("month") if self.is_bound and self.is_valid() else None
        start = start or self.today.replace(day=1)
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return start, min(following - dt.timedelta(days=1), self.today)
