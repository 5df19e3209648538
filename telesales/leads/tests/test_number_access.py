"""Who had a customer's number: the sources, holders and every reveal of one number, found
from any spelling of it; only for those who read the audit log, with a reason, audited; the
number never shown in full."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.phone_numbers import mask_phone
from telesales.leads import exporting, number_access, services
from telesales.leads.choices import LeadState
from telesales.leads.models import Lead, LeadEvent
from telesales.leads.tests.factories import CustomerFactory, LeadFactory

pytestmark = pytest.mark.django_db

NUMBER = "+8613912345678"
SPELLINGS = ["139 1234 5678", "+86-139-1234-5678", "0086 13912345678", "１３９１２３４５６７８"]


@pytest.fixture
def traced(leads_demo, person_of, user_named):
    """A customer with two leads: one held by agent1 and revealed on its page, by the API
    and in an export; the other never assigned."""
    customer = CustomerFactory(mobile_e164=NUMBER, name="被查客户")
    held = LeadFactory(customer=customer, state=LeadState.OWNED, owner=person_of("agent1"))
    LeadEvent.objects.create(
        lead=held, at=held.created_at, action="allocate", to_owner=person_of("agent1")
    )
    quiet = LeadFactory(customer=customer)
    manager, data = user_named("manager"), user_named("data")
    services.lead_phone_reveal(lead=held, actor=manager, reason="核对投保人")
    services.lead_phone_reveal(lead=held, actor=data, reason="客户来电 13800001111", via="api")
    exporting.lead_export(
        actor=data,
        filters={"state": LeadState.OWNED},
        fmt="csv",
        include_full_numbers=True,
        reason="对账",
    )
    return {"customer": customer, "held": held, "quiet": quiet}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_any_spelling_finds_every_source_holder_and_reveal(traced, user_named, spelling):
    access = number_access.number_access_lookup(
        actor=user_named("manager"), phone=spelling, reason="客户投诉号码泄露"
    )
    assert access.customer_id == traced["customer"].pk
    assert access.masked == mask_phone(NUMBER) and NUMBER not in repr(access)
    assert [s.lead_id for s in access.leads] == [traced["held"].pk, traced["quiet"].pk]
    assert [(h.name, h.lead_ids) for h in access.holders] == [
        (traced["held"].owner.name, (traced["held"].pk,))
    ]
    seen = {(r.actor_name, r.via, r.lead_id) for r in access.reveals}
    assert {("manager", "page", traced["held"].pk), ("data", "api", traced["held"].pk)} <= seen
    assert ("data", "export", traced["held"].pk) in seen
    assert all(r.lead_id == traced["held"].pk for r in access.reveals)
    assert access.reveals == sorted(access.reveals, key=lambda r: r.at, reverse=True)


def test_other_customers_reveals_are_not_listed(traced, user_named):
    other = Lead.objects.exclude(customer=traced["customer"]).first()
    services.lead_phone_reveal(lead=other, actor=user_named("manager"), reason="别的客户")
    access = number_access.number_access_lookup(
        actor=user_named("manager"), phone=NUMBER, reason="核查"
    )
    assert other.pk not in {r.lead_id for r in access.reveals}


def test_the_lookup_is_audited_with_the_number_masked_even_in_the_reason(traced, user_named):
    number_access.number_access_lookup(
        actor=user_named("manager"), phone=NUMBER, reason="投诉人 13912345678 来电"
    )
    entry = AuditEntry.objects.get(action="leads.number_access_lookup")
    assert entry.actor == user_named("manager")
    assert entry.object_id == str(traced["customer"].pk)
    assert entry.object_repr == mask_phone(NUMBER)
    assert "13912345678" not in entry.reason and mask_phone("13912345678") in entry.reason


def test_a_number_no_customer_has_says_so_and_is_audited(leads_demo, user_named):
    access = number_access.number_access_lookup(
        actor=user_named("manager"), phone="13700000001", reason="核查"
    )
    assert access.customer_id is None and access.leads == [] and access.reveals == []
    entry = AuditEntry.objects.get(action="leads.number_access_lookup")
    assert entry.after == {"found": False, "report_downloads": 0}
    assert entry.object_repr == "137****0001"


@pytest.mark.parametrize(
    ("phone", "reason", "fields"),
    [
        ("not a number", "核查", {"phone"}),
        ("", "核查", {"phone"}),
        (NUMBER, "", {"reason"}),
        ("12", " ", {"phone", "reason"}),
    ],
)
def test_bad_input_names_every_field_and_records_nothing(
    leads_demo, user_named, phone, reason, fields
):
    with pytest.raises(ValidationFailed) as exc:
        number_access.number_access_lookup(actor=user_named("manager"), phone=phone, reason=reason)
    assert set(exc.value.fields) == fields
    assert not AuditEntry.objects.filter(action="leads.number_access_lookup").exists()


@pytest.mark.parametrize("username", ["data", "teamlead1", "agent1", "hr", "planner"])
def test_only_those_who_read_the_audit_log_may_look(leads_demo, user_named, username):
    with pytest.raises(PermissionDenied):
        number_access.number_access_lookup(actor=user_named(username), phone=NUMBER, reason="核查")
    assert not AuditEntry.objects.filter(action="leads.number_access_lookup").exists()


def test_the_page_traces_a_number_and_never_shows_it_in_full(traced, page_as):
    client = page_as("manager")
    url = reverse("leads:number_access")
    assert client.get(url).status_code == 200
    response = client.post(url, {"phone": "139-1234-5678", "reason": "投诉核查"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "13912345678" not in html and "1234-5678" not in html
    assert mask_phone(NUMBER) in html and "被查客户" in html
    assert f"#{traced['quiet'].pk}" in html and 'data-testid="number-reveals"' in html
    assert "no-store" in response["Cache-Control"]
    htmx = client.post(url, {"phone": "13912345678", "reason": "再查"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "<html" not in htmx.content.decode()
    assert 'id="number-access"' in htmx.content.decode()


def test_the_page_shows_field_errors_and_keeps_what_was_typed(leads_demo, page_as):
    client = page_as("manager")
    response = client.post(reverse("leads:number_access"), {"phone": "abc", "reason": ""})
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="field-error-phone"' in html or 'data-testid="field-error-reason"' in html
    assert 'value="abc"' in html


@pytest.mark.parametrize(
    ("phone", "reason", "fields"),
    [
        ("abc", "", {"phone", "reason"}),
        ("12", "x", {"phone", "reason"}),
        ("", "", {"phone", "reason"}),
    ],
)
def test_the_page_shows_every_fields_error_at_once(leads_demo, page_as, phone, reason, fields):
    """A number that is none and a missing reason: both errors on the first try, not the
    reason's first and the number's after it is fixed."""
    response = page_as("manager").post(
        reverse("leads:number_access"), {"phone": phone, "reason": reason}
    )
    html = response.content.decode()
    assert response.status_code == 422
    shown = {name for name in ("phone", "reason") if f'data-testid="field-error-{name}"' in html}
    assert shown == fields
    assert not AuditEntry.objects.filter(action="leads.number_access_lookup").exists()


def test_the_api_traces_a_number_for_the_manager_only(traced, api_as):
    body = {"phone": "+86 139 1234 5678", "reason": "接口核查"}
    response = api_as("manager").post_json("/api/v1/leads/number-access", body)
    assert response.status_code == 200
    data = response.json()
    assert (
        data["mobile_masked"] == mask_phone(NUMBER)
        and "13912345678" not in response.content.decode()
    )
    assert data["customer_id"] == traced["customer"].pk
    assert {r["via"] for r in data["reveals"]} == {"page", "api", "export"}
    assert all("13800001111" not in r["reason"] for r in data["reveals"])
    refused = api_as("data").post_json("/api/v1/leads/number-access", body)
    assert refused.status_code == 403
    bad = api_as("manager").post_json(
        "/api/v1/leads/number-access", {"phone": "nope", "reason": "核查"}
    )
    assert bad.status_code == 422 and "phone" in bad.json()["details"]["fields"]


# --- Rejection reports downloaded with full numbers --------------------------------------------
REJECTED = "+8613912340001"  # on the do-not-call list: the import turns it away
KEPT = "+8613912340002"  # imported, and repeated further down the file


@pytest.fixture
def rejected_batch(leads_demo, user_named, tmp_path, settings):
    from telesales.leads.importing import batch_create, batch_import_run
    from telesales.leads.models import Channel

    settings.MEDIA_ROOT = tmp_path / "media"
    Channel.objects.create(code="trace", name="追溯渠道", consent_wording="同意来电")
    data = user_named("data")
    services.dnc_add(phone=REJECTED, permanent=True, actor=data, reason="投诉")
    path = tmp_path / "trace.csv"
    path.write_text("姓名,手机\n甲,139 1234 0001\n乙,13912340002\n丙,+86 139-1234-0002\n")
    batch = batch_create(file=path, name="追溯批次", channel_code="trace", actor=data)
    batch = batch_import_run(batch_id=batch.pk)
    assert dict(batch.rejections.values_list("row_number", "reason")) == {
        2: "dnc",
        4: "duplicate_in_file",
    }
    return batch


def _download(batch, user, **full):
    from telesales.leads.importing import batch_rejection_report

    return batch_rejection_report(batch=batch, fmt="xlsx", actor=user, **full)


def test_a_number_the_import_rejected_is_traced_to_full_number_report_downloads(
    rejected_batch, user_named
):
    """A DNC-blocked number never became a customer, but the report holding it in full was
    downloaded: the lookup names who, when, the batch and the row (a masked download is not
    listed) instead of saying it was never imported."""
    from telesales.leads.number_access import RejectedRow

    data = user_named("data")
    _download(rejected_batch, data)  # masked: no reveal
    _download(rejected_batch, data, full_numbers=True, reason="核对拒绝原因")
    access = number_access.number_access_lookup(
        actor=user_named("manager"), phone="139 1234 0001", reason="客户投诉"
    )
    assert access.customer_id is None and access.leads == []
    [download] = access.report_downloads
    assert (download.actor_name, download.batch_id, download.batch_name) == (
        "data",
        rejected_batch.pk,
        "追溯批次",
    )
    assert [type(r) for r in download.rows] == [RejectedRow]
    assert download.rows[0].row_number == 2
    assert (download.format, download.reason) == ("xlsx", "核对拒绝原因")
    entry = AuditEntry.objects.filter(action="leads.number_access_lookup").latest("id")
    assert entry.after == {"found": False, "report_downloads": 1}


def test_an_imported_customer_in_a_downloaded_report_is_listed_too(rejected_batch, user_named):
    """The customer's number repeated in the file (a rejected duplicate row): the full-number
    report showed it, so the lookup lists that download next to the reveals."""
    _download(rejected_batch, user_named("manager"), full_numbers=True, reason="核对")
    access = number_access.number_access_lookup(
        actor=user_named("manager"), phone=KEPT, reason="核查"
    )
    assert access.customer_id is not None
    assert [(d.batch_id, [r.row_number for r in d.rows]) for d in access.report_downloads] == [
        (rejected_batch.pk, [4])
    ]
    other = number_access.number_access_lookup(
        actor=user_named("manager"), phone="13912340003", reason="核查"
    )
    assert other.report_downloads == []


def test_rows_recorded_before_the_hash_was_kept_are_matched_by_their_cells(
    rejected_batch, user_named
):
    """Rejected rows written before they kept their number's hash are matched by the phone
    cell of the row as read; once the cells are purged, they can no longer be told."""
    from telesales.leads.models import BatchRejection

    _download(rejected_batch, user_named("data"), full_numbers=True, reason="核对")
    BatchRejection.objects.filter(batch=rejected_batch).update(phone_hash="")
    manager = user_named("manager")
    access = number_access.number_access_lookup(actor=manager, phone=REJECTED, reason="核查")
    assert [d.batch_id for d in access.report_downloads] == [rejected_batch.pk]
    BatchRejection.objects.filter(batch=rejected_batch).update(raw=[])
    access = number_access.number_access_lookup(actor=manager, phone=REJECTED, reason="核查")
    assert access.report_downloads == []


def test_the_page_lists_report_downloads_of_a_rejected_number_masked(
    rejected_batch, user_named, page_as
):
    _download(rejected_batch, user_named("data"), full_numbers=True, reason="核对 13912340001")
    response = page_as("manager").post(
        reverse("leads:number_access"), {"phone": "13912340001", "reason": "投诉核查"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="number-report-downloads"' in html and "追溯批次" in html
    assert "从未导入" not in html and "never imported" not in html
    assert "13912340001" not in html and "1234-0001" not in html
    assert mask_phone(REJECTED) in html


def test_the_api_lists_report_downloads(rejected_batch, user_named, api_as):
    _download(rejected_batch, user_named("data"), full_numbers=True, reason="核对")
    response = api_as("manager").post_json(
        "/api/v1/leads/number-access", {"phone": REJECTED, "reason": "接口核查"}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["customer_id"] is None and data["report_downloads_truncated"] is False
    [download] = data["report_downloads"]
    assert download["batch_id"] == rejected_batch.pk and download["actor_name"] == "data"
    assert download["rows"][0]["row_number"] == 2


def test_the_page_does_not_say_never_shown_when_a_report_showed_it(
    rejected_batch, user_named, page_as
):
    """QA: for a customer whose number a full-number rejection report held, the page said
    "the full number was never shown to anyone" just above the list of those downloads."""
    _download(rejected_batch, user_named("data"), full_numbers=True, reason="核对")
    html = (
        page_as("manager")
        .post(reverse("leads:number_access"), {"phone": KEPT, "reason": "投诉核查"})
        .content.decode()
    )
    assert 'data-testid="number-report-downloads"' in html
    assert "从未向任何人显示" not in html and "never shown to anyone" not in html
    assert 'data-testid="no-reveals"' in html and "拒绝明细报表" in html
