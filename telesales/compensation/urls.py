"""Pages of the basic law: rule sets, pay runs, payslips, assessment, early warning, what-if."""

from __future__ import annotations

from django.urls import path

from telesales.compensation import (
    views,
    views_assessment,
    views_attendance,
    views_rulesets,
    views_whatif,
)

app_name = "compensation"

urlpatterns: list = [
    # Pay runs (HR admin and center manager), payslips, team totals.
    path("payruns/", views.payrun_list_view, name="payrun_list"),
    path("payruns/compute/", views.payrun_compute_view, name="payrun_compute"),
    path("payruns/jobs/<int:job_id>/", views.payrun_job_view, name="payrun_job"),
    path("payruns/<int:run_id>/", views.payrun_detail_view, name="payrun_detail"),
    path("payruns/<int:run_id>/approve/", views.payrun_approve_view, name="payrun_approve"),
    path("payruns/<int:run_id>/adjust/", views.payrun_adjust_view, name="payrun_adjust"),
    path(
        "payruns/<int:run_id>/adjustments/<int:adjustment_id>/cancel/",
        views.adjustment_cancel_view,
        name="adjustment_cancel",
    ),
    path("payruns/<int:run_id>/export.xlsx", views.payrun_export_view, name="payrun_export"),
    path(
        "payruns/<int:run_id>/payslips/<int:person_id>/",
        views.payslip_detail_view,
        name="payslip_detail",
    ),
    path("payslip/", views.payslip_mine_view, name="payslip_mine"),
    path("policies/<int:policy_id>/", views.policy_pay_view, name="policy_pay"),
    path("team-pay/", views.payrun_team_view, name="payrun_team"),
    # Attendance per pay period (HR admin and center manager): the sheet, a file, its template.
    path("attendance/", views_attendance.attendance_edit_view, name="attendance_edit"),
    path("attendance/import/", views_attendance.attendance_import_view, name="attendance_import"),
    path(
        "attendance/template.xlsx",
        views_attendance.attendance_template_view,
        name="attendance_template",
    ),
    # Basic-law rule sets (HR admin and center manager).
    path("rulesets/", views_rulesets.ruleset_list_view, name="ruleset_list"),
    path("rulesets/<int:ruleset_id>/", views_rulesets.ruleset_detail_view, name="ruleset_detail"),
    path(
        "rulesets/<int:ruleset_id>/approve/",
        views_rulesets.ruleset_approve_view,
        name="ruleset_approve",
    ),
    path(
        "rulesets/<int:ruleset_id>/discard/",
        views_rulesets.ruleset_discard_view,
        name="ruleset_discard",
    ),
    path(
        "rulesets/<int:ruleset_id>/download/",
        views_rulesets.ruleset_download_view,
        name="ruleset_download",
    ),
    # What-if: a draft rule set over a past period (HR admin and center manager).
    path("whatif/", views_whatif.whatif_view, name="whatif"),
    # Assessment (HR admin and center manager) and early warning (everyone, scoped).
    path("assessments/", views_assessment.assessment_list_view, name="assessment_list"),
    path("assessments/run/", views_assessment.assessment_run_view, name="assessment_run"),
    path(
        "assessments/<int:run_id>/",
        views_assessment.assessment_detail_view,
        name="assessment_detail",
    ),
    path(
        "assessments/<int:run_id>/approve/",
        views_assessment.assessment_approve_view,
        name="assessment_approve",
    ),
    path(
        "assessments/<int:run_id>/approve-pending/",
        views_assessment.assessment_approve_pending_view,
        name="assessment_approve_pending",
    ),
    path(
        "assessment-outcomes/<int:outcome_id>/decide/",
        views_assessment.assessment_outcome_decide_view,
        name="assessment_outcome_decide",
    ),
    path("early-warning/", views_assessment.warning_list_view, name="warning_list"),
]
