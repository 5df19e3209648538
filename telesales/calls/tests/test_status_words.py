"""An open callback or follow-up is a status ("Open", context "status"), not the verb "Open"
(查看) of the buttons and links."""

from django.utils import translation

from telesales.calls.choices import FollowUpStatus


def test_an_open_follow_up_reads_as_a_status_in_chinese():
    with translation.override("zh-hans"):
        assert str(FollowUpStatus.OPEN.label) == "待处理"
        assert dict(FollowUpStatus.choices)["open"] != "查看"
    with translation.override("en"):
        assert str(FollowUpStatus.OPEN.label) == "Open"
