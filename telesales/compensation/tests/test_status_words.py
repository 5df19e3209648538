"""An open pay run is a status ("Open", context "pay run status": not approved yet), not the
verb "Open" (查看) of the buttons and links; the same word as the pay run's status badge."""

from django.template import Context, Template
from django.utils import translation

from telesales.compensation.choices import PayRunStatus


def test_an_open_pay_run_reads_as_a_status_in_chinese():
    badge = Template('{% load i18n %}{% translate "Open" context "pay run status" %}')
    with translation.override("zh-hans"):
        assert str(PayRunStatus.OPEN.label) == "未审批"
        assert str(PayRunStatus.OPEN.label) == badge.render(Context())
    with translation.override("en"):
        assert str(PayRunStatus.OPEN.label) == "Open"
