"""'Issued' means three things in the policies app (a status, a history step, a count), and
the date column elsewhere ("承保日期"): each has its own words in Chinese."""

from django.utils import translation

from telesales.policies.choices import PolicyAction, PolicyStatus


def test_issued_as_a_status_and_as_a_step_are_not_the_issue_date():
    with translation.override("zh-hans"):
        assert str(PolicyStatus.ISSUED.label) == "已承保"
        assert str(PolicyAction.ISSUE.label) == "承保"
        assert translation.pgettext("policy count", "Issued") == "承保件数"
        assert translation.gettext("Issued") == "承保日期"  # the date column keeps its words
    with translation.override("en"):
        assert str(PolicyStatus.ISSUED.label) == "Issued"


def test_applied_as_a_status_is_not_a_receipt_applied():
    """A policy just sold waits for the issue (待承保); it read 已入账, the receipt files'
    word for rows applied to premiums, so a new sale looked paid in."""
    with translation.override("zh-hans"):
        assert str(PolicyStatus.APPLIED.label) == "待承保"
        assert translation.gettext("Applied") == "已入账"  # the receipt files keep theirs
    with translation.override("en"):
        assert str(PolicyStatus.APPLIED.label) == "Applied"
