"""Pages of the basic law: pay runs, payslips, assessment, early warning, what-if."""

from __future__ import annotations

app_name = "compensation"

urlpatterns: list = []
