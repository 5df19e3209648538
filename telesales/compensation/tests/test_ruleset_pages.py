"""The rule-set pages: the HR admin imports a file or edits an earlier version's text as a new
draft, sees every problem of a bad file with its place (and keeps its text to fix it),
downloads a version, approves a draft; nobody else reaches them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from telesales.compensation.choices import RuleSetStatus
from telesales.compensation.models import RuleSet
from telesales.compensation.rulesets import (
    DEFAULT_RULESET_PATH,
    ruleset_approve,
    ruleset_import_default,
)
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.org.reference_data import load_reference_data
from telesales.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEFAULT_TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
LIST = reverse("compensation:ruleset_list")


@pytest.fixture
def hr():
    load_reference_data()
    user = UserFactory(username="hana", roles=[Role.HR_ADMIN])
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def _post(client, **data):
    data.setdefault("effective_from", "2026-12-01")
    return client.post(LIST, data)


def test_a_file_becomes_a_draft_and_its_page_offers_what_if_and_approval(hr):
    upload = SimpleUploadedFile("basic_law.yaml", DEFAULT_TEXT.encode("utf-8"))
    response = _post(hr, file=upload, reason="2027 rules")
    draft = RuleSet.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "compensation:ruleset_detail", args=[draft.pk]
    )
    assert (draft.status, draft.version, draft.source_name) == (
        RuleSetStatus.DRAFT,
        1,
        "basic_law.yaml",
    )
    page = hr.get(response["Location"]).content.decode()
    assert 'data-testid="ruleset-approve-form"' in page
    assert f"{reverse('compensation:whatif')}?draft={draft.pk}" in page
    listing = hr.get(LIST)
    assert 'data-testid="ruleset-1"' in listing.content.decode()
    assert listing.context["in_force"] is None  # "no approved version is in force today"


def test_a_bad_file_lists_every_problem_with_its_place_and_keeps_the_text(hr):
    bad = DEFAULT_TEXT.replace("  include_own:", "  inclde_own:", 1)
    assert bad != DEFAULT_TEXT
    upload = SimpleUploadedFile("rules.yaml", bad.encode("utf-8"))
    response = _post(hr, file=upload)
    assert response.status_code == 422
    assert RuleSet.objects.count() == 0
    html = response.content.decode()
    assert 'data-testid="rule-problems"' in html
    assert "<code>management_allowance.inclde_own</code>" in html
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "inclde_own" in text)
    first = response.context["problems"][0]
    assert (first.path, first.line) == ("management_allowance.inclde_own", line)
    assert f"{line}" in html[html.index("management_allowance.inclde_own") :][:80]
    # The file's text is in the editor, to be fixed there and saved.
    assert response.context["form"]["text"].value() == bad


def test_a_gbk_file_imports_and_an_unreadable_one_is_refused_plainly(hr):
    gbk = SimpleUploadedFile("rules.yaml", DEFAULT_TEXT.encode("gbk"))
    assert _post(hr, file=gbk).status_code == 302
    assert RuleSet.objects.get().source_text == DEFAULT_TEXT
    # A GBK file with a typo comes back decoded in the editor, to be fixed there.
    typo = DEFAULT_TEXT.replace("  include_own:", "  inclde_own:", 1)
    bad = _post(hr, file=SimpleUploadedFile("rules.yaml", typo.encode("gbk")))
    assert bad.status_code == 422 and bad.context["form"]["text"].value() == typo
    unreadable = SimpleUploadedFile("rules.yaml", b"name: \xff\xfe\x80\n")
    response = _post(hr, file=unreadable)
    assert response.status_code == 422 and RuleSet.objects.count() == 1
    assert "UTF-8" in response.content.decode()


def test_rules_nested_thousands_deep_are_a_listed_problem_not_a_server_error(hr):
    deep = "[" * 5000
    response = _post(hr, text=deep)
    assert response.status_code == 422 and RuleSet.objects.count() == 0
    assert [p.reason for p in response.context["problems"]] == [
        "文件嵌套层级过深，不是有效的规则文件"
    ]
    assert response.context["form"]["text"].value() == deep


def test_neither_file_nor_text_nor_date_is_a_field_error(hr):
    response = hr.post(LIST, {"text": " "})
    assert response.status_code == 422 and RuleSet.objects.count() == 0
    html = response.content.decode()
    assert 'data-testid="field-error-text"' in html
    assert 'data-testid="field-error-effective_from"' in html


def test_a_new_version_starts_from_an_earlier_ones_text(hr):
    first = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 1, 1))
    ruleset_approve(ruleset=first, actor=hr.user)
    form = hr.get(LIST, {"from": first.pk}).context["form"]
    assert form["text"].value() == DEFAULT_TEXT
    edited = DEFAULT_TEXT.replace("  factor: 0.8\n", "  factor: 0.85\n", 1)
    response = _post(hr, text=edited, effective_from="2027-01-01")
    assert response.status_code == 302
    second = RuleSet.objects.get(version=2)
    assert second.source_text == edited and second.source_name == ""
    assert str(second.document["trainee_factor"]["factor"]) == "0.85"
    # The one in force is shown as such; the download gives the text back as a file.
    assert hr.get(LIST).context["in_force"] == first
    download = hr.get(reverse("compensation:ruleset_download", args=[first.pk]))
    assert download["Content-Disposition"].endswith('basic-law-v1-2026-01-01.yaml"')
    assert download.content.decode("utf-8") == DEFAULT_TEXT


def test_approving_a_draft_from_its_page_and_a_second_time(hr):
    draft = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 1, 1))
    url = reverse("compensation:ruleset_approve", args=[draft.pk])
    response = hr.post(url, {"reason": "board decision", "confirm": "on"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.APPROVED and draft.approved_by == hr.user
    entry = AuditEntry.objects.get(action="compensation.ruleset_approve")
    assert entry.reason == "board decision"
    again = hr.post(url, {"reason": "", "confirm": "on"})
    assert again.status_code == 409 and b'data-testid="form-errors"' in again.content


def test_only_hr_and_the_manager_reach_the_pages(hr):
    draft = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 1, 1))
    agent = Client()
    agent.force_login(UserFactory(username="ann", roles=[Role.AGENT]))
    for url in (
        LIST,
        reverse("compensation:ruleset_detail", args=[draft.pk]),
        reverse("compensation:ruleset_download", args=[draft.pk]),
    ):
        assert agent.get(url).status_code == 403
    posted = agent.post(LIST, {"text": DEFAULT_TEXT, "effective_from": "2026-12-01"})
    assert posted.status_code == 403
    approve = reverse("compensation:ruleset_approve", args=[draft.pk])
    assert agent.post(approve, {}).status_code == 403
    assert RuleSet.objects.count() == 1 and RuleSet.objects.get().status == RuleSetStatus.DRAFT
    manager = Client()
    manager.force_login(UserFactory(username="max", roles=[Role.MANAGER]))
    assert manager.get(LIST).status_code == 200
    assert hr.get(reverse("compensation:ruleset_detail", args=[999999])).status_code == 404


def test_pasted_rules_longer_than_a_file_may_be_are_a_field_error(hr):
    from telesales.compensation.rulesets import MAX_FILE_BYTES

    response = _post(hr, text="#" * (MAX_FILE_BYTES + 1))
    assert response.status_code == 422 and RuleSet.objects.count() == 0
    assert 'data-testid="field-error-text"' in response.content.decode()


def test_who_imported_and_approved_a_version_reads_as_a_name(hr):
    """The employee record's name when the login has one, else the full name (not "hana")."""
    from telesales.org.tests.factories import PersonFactory

    user = hr.user
    user.first_name, user.last_name = "Hana", "Li"
    user.save()
    ruleset = ruleset_import_default(actor=user, effective_from=dt.date(2026, 12, 1))
    listed = hr.get(LIST).content.decode()
    assert "Hana Li" in listed and ">hana<" not in listed
    PersonFactory(user=user, name="李花")
    page = hr.get(reverse("compensation:ruleset_detail", args=[ruleset.pk])).content.decode()
    assert "李花" in page and "Hana Li" not in page


def test_a_problems_place_reads_in_chinese_with_full_width_punctuation(hr):
    """「<code>（文档）</code> · 第 2 行： 不是有效的 YAML…」, not "(document) · 第 2 行: …": the
    document's placeholder is translated and the colon is the reader's language's."""
    html = _post(hr, text="version: 1\nfoo: [").content.decode()
    problems = html.split('data-testid="rule-problems">', 1)[1].split("</ul>", 1)[0]
    assert "<code>（文档）</code> · 第 2 行： " in problems, problems
    assert "(document)" not in problems and "行:" not in problems
    hr.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _post(hr, text="version: 1\nfoo: [").content.decode()
    assert "<code>(document)</code> · line 2: " in english
    typo = DEFAULT_TEXT.replace("  include_own:", "  inclde_own:", 1)
    english = _post(hr, text=typo).content.decode()
    assert "<code>management_allowance.inclde_own</code> · line " in english


def test_the_planner_reads_the_basic_law_but_changes_nothing(hr):
    """QA: the planner (企划督导), who designs the incentive schemes, got 403 on every page of
    the basic law. They read its versions (pages, download, API) without the import form, the
    approval or the what-if (which shows each person's pay)."""
    from telesales.core.tests.api_helpers import JsonClient

    draft = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 1, 1))
    user = UserFactory(username="pia", roles=[Role.PLANNER])
    planner = Client()
    planner.force_login(user)
    listing = planner.get(LIST)
    assert listing.status_code == 200 and f"v{draft.version}" in listing.content.decode()
    assert b'data-testid="ruleset-import-form"' not in listing.content
    page = planner.get(reverse("compensation:ruleset_detail", args=[draft.pk]))
    assert page.status_code == 200 and b'data-testid="ruleset-source"' in page.content
    assert b'data-testid="ruleset-approve-form"' not in page.content
    assert b'data-testid="ruleset-new-from"' not in page.content
    assert planner.get(reverse("compensation:ruleset_download", args=[draft.pk])).status_code == 200
    assert (
        planner.post(LIST, {"text": DEFAULT_TEXT, "effective_from": "2026-12-01"}).status_code
        == 403
    )
    approve = reverse("compensation:ruleset_approve", args=[draft.pk])
    assert planner.post(approve, {"reason": "", "confirm": "on"}).status_code == 403
    assert planner.get(reverse("compensation:whatif")).status_code == 403
    api = JsonClient()
    api.force_login(user)
    assert api.get("/api/v1/compensation/rulesets").status_code == 200
    assert api.get(f"/api/v1/compensation/rulesets/{draft.pk}").status_code == 200
    refused = api.post_json(f"/api/v1/compensation/rulesets/{draft.pk}/approve", {"reason": ""})
    assert refused.status_code == 403
    assert RuleSet.objects.get().status == RuleSetStatus.DRAFT


def test_a_draft_overtaken_by_a_later_approved_version_offers_no_approval(hr):
    """QA: a draft dated before an approved version still showed its approval form; only
    submitting it said it could not be approved."""
    early = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 12, 1))
    later = ruleset_import_default(actor=hr.user, effective_from=dt.date(2027, 1, 1))
    approve = reverse("compensation:ruleset_approve", args=[later.pk])
    assert hr.post(approve, {"reason": "", "confirm": "on"}).status_code == 302
    page = hr.get(reverse("compensation:ruleset_detail", args=[early.pk])).content.decode()
    assert 'data-testid="ruleset-overtaken"' in page
    assert 'data-testid="ruleset-approve-form"' not in page


def test_a_draft_is_discarded_from_its_page_once_the_box_is_ticked(hr):
    draft = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 12, 1))
    page = reverse("compensation:ruleset_detail", args=[draft.pk])
    assert 'data-testid="ruleset-discard-form"' in hr.get(page).content.decode()
    url = reverse("compensation:ruleset_discard", args=[draft.pk])
    refused = hr.post(url, {"discard-reason": "typo"})
    assert refused.status_code == 422
    assert 'data-testid="field-error-confirm"' in refused.content.decode()
    assert RuleSet.objects.filter(pk=draft.pk).exists()
    done = hr.post(url, {"discard-reason": "typo", "discard-confirm": "on"}, follow=True)
    assert done.redirect_chain == [(LIST, 302)]
    assert "草稿版本 1 已删除" in done.content.decode()  # the center's language
    assert not RuleSet.objects.exists()


def test_an_approved_version_offers_no_discarding(hr):
    approved = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 1, 1))
    ruleset_approve(ruleset=approved, actor=hr.user)
    page = hr.get(reverse("compensation:ruleset_detail", args=[approved.pk])).content.decode()
    assert 'data-testid="ruleset-discard-form"' not in page
    url = reverse("compensation:ruleset_discard", args=[approved.pk])
    refused = hr.post(url, {"discard-confirm": "on"})
    assert refused.status_code == 409
    assert "只能删除草稿" in refused.content.decode()
    assert RuleSet.objects.filter(pk=approved.pk).exists()


def test_a_versions_page_lists_what_it_changes_from_the_version_it_takes_over_from(hr):
    first = ruleset_import_default(actor=hr.user, effective_from=dt.date(2026, 1, 1))
    ruleset_approve(ruleset=first, actor=hr.user)
    page = hr.get(reverse("compensation:ruleset_detail", args=[first.pk])).content.decode()
    assert 'data-testid="ruleset-changes"' not in page  # the first version changes nothing
    text = DEFAULT_TEXT.replace(
        "{from: 5, to: null, rates: {T0: 0.35, S1: 0.35, S2: 0.40, S3: 0.45,",
        "{from: 5, to: null, rates: {T0: 0.35, S1: 0.35, S2: 0.40, S3: 0.50,",
    )
    assert text != DEFAULT_TEXT
    upload = SimpleUploadedFile("v2.yaml", text.encode("utf-8"))
    _post(hr, file=upload, effective_from="2026-12-01")
    draft = RuleSet.objects.get(status=RuleSetStatus.DRAFT)
    page = hr.get(reverse("compensation:ruleset_detail", args=[draft.pk])).content.decode()
    assert 'data-testid="ruleset-changes"' in page
    assert "与 v1 相比的变化" in page
    assert page.count('data-testid="ruleset-change"') == 1
    assert "<code>fyc_commission[fyc.protection].terms[1].rates.S3</code>" in page
    assert '<td class="text-secondary">0.45</td><td>0.5</td>' in page
