"""HTML forms of the attendance pages: which period (and team) to show, and the file to
import. The days themselves are the sheet's inputs, checked by the service
(``attendance.attendance_check``) so that the page, a file and the API say the same."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from telesales.compensation.attendance import MAX_FILE_BYTES
from telesales.compensation.forms import MonthInput
from telesales.core.dates import validate_center_year
from telesales.core.forms import StyledForm
from telesales.org.models import Team


class AttendancePeriodForm(StyledForm, forms.Form):
    """The pay period to show (its label, ``YYYY-MM``) and, for a large center, one team."""

    period = forms.DateField(
        validators=[validate_center_year],
        label=_("Period"),
        widget=MonthInput(),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        error_messages={"invalid": _("Give a month as YYYY-MM.")},
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("All teams"),
        error_messages={"invalid_choice": _("Choose a team from the list.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class AttendanceFileForm(StyledForm, forms.Form):
    """An attendance file to preview: CSV or XLSX."""

    file = forms.FileField(
        label=_("Attendance file (CSV or XLSX)"),
        help_text=_(
            "Columns 工号, 姓名, 应出勤天数, 实出勤天数 (or employee_no, name, days_required, "
            "days_attended); CSV as UTF-8 or GBK."
        ),
        error_messages={"required": _("Choose a file.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".csv,.xlsx,text/csv"
        self._style()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is too large: at most %(n)d MB.")
                % {"n": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return upload
