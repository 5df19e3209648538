"""The mapping step of a lead import: choosing the row that holds the headers (title rows above
it are skipped), and discarding a batch that imported nothing so that its file can be
uploaded again. Service, page and API each."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import translation

from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.phone_numbers import mask_phone
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.leads import importing
from telesales.leads.choices import BatchStatus
from telesales.leads.importing import (
    FileAlreadyImported,
    ImportInProgress,
    batch_create,
    batch_discard,
    batch_header_set,
    batch_import_run,
    batch_import_with_mapping,
)
from telesales.leads.models import Customer, Lead, LeadBatch
from telesales.leads.tests.factories import UserFactory, data_officer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def national(n: int) -> str:
    return f"138{n:08d}"


def csv_bytes(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def stored_files() -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# A report as a data officer gets it: two title rows, then headers the import does not know
# (联络号 is no phone header), then the data. The guess takes the fuller title row (row 2)
# as the header: the data officer chooses row 3.
TITLED = [
    ["2026年11月 赠险名单"],
    ["导出人：张三", "部门：电销一部", "导出时间：2026-11-28", "共 3 条"],
    ["客户", "联络号", "车牌"],
    ["甲", national(1), "京A12345"],
    ["乙", national(2), "沪B00001"],
    ["丙", national(3), ""],
]


def upload(tmp_path, rows, *, name="名单", file_name="titled.csv", actor=None) -> LeadBatch:
    path = tmp_path / file_name
    path.write_bytes(csv_bytes(rows))
    return batch_create(file=path, name=name, channel_code="web", actor=actor)


# --- The header row ------------------------------------------------------------------------
def test_the_first_rows_are_kept_masked_to_choose_the_header_from(tmp_path, channel):
    batch = upload(tmp_path, TITLED)
    assert batch.status == BatchStatus.MAPPING
    preview = batch.mapping["preview"]
    assert [row[0] for row in preview] == [1, 2, 3, 4, 5, 6]
    assert preview[3][1] == ["甲", mask_phone("+86" + national(1)), "京A12345"]
    assert preview[1][1][:2] == ["导出人：张三", "部门：电销一部"]
    assert national(1) not in json.dumps(batch.mapping)
    assert importing.batch_preview(batch)[2] == (3, ["客户", "联络号", "车牌"])


def test_choosing_the_header_row_updates_the_columns_and_the_import_reads_below_it(
    tmp_path, channel, officer
):
    batch = upload(tmp_path, TITLED, actor=officer)
    assert batch.mapping["header_row"] == 2  # the guess
    batch = batch_header_set(batch=batch, header_row=3, actor=officer)
    assert batch.status == BatchStatus.MAPPING
    assert batch.mapping["header_row"] == 3
    assert batch.mapping["headers"] == ["客户", "联络号", "车牌"]
    assert batch.mapping["phone_like_columns"] == [1]
    assert batch.mapping["sample"][0][0] == "甲"
    entry = AuditEntry.objects.get(action="leads.batch_header")
    assert entry.after["header_row"] == 3 and entry.actor == officer

    batch = batch_import_with_mapping(
        batch=batch, mapping={"联络号": "mobile", "客户": "name"}, actor=officer
    )
    assert batch.status == BatchStatus.DONE
    assert (batch.rows, batch.imported, batch.invalid) == (3, 3, 0)
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["丙", "乙", "甲"]
    assert batch.mapping["summary"]["rows_above_header"] == 2
    assert "preview" not in batch.mapping


def test_a_chosen_header_row_that_names_the_phone_column_is_recognised_again(tmp_path, channel):
    rows = [["说明：请勿修改表头"], ["姓名", "手机号码", "车牌"], ["甲", national(1), "京A1"]]
    batch = upload(tmp_path, rows, file_name="known.csv")
    assert batch.status == BatchStatus.MAPPING  # 车牌 is not known
    batch = batch_header_set(batch=batch, header_row=1)
    assert batch.mapping["headers"] == ["说明：请勿修改表头"]
    batch = batch_header_set(batch=batch, header_row=2)
    assert batch.mapping["columns"] == {"0": "name", "1": "mobile"}
    assert batch.mapping["unknown"] == [2]
    batch = batch_import_with_mapping(batch=batch, mapping={})
    assert (batch.rows, batch.imported) == (1, 1)


def test_no_header_row_makes_the_first_row_data(tmp_path, channel):
    rows = [["联络号", "客户"], [national(1), "甲"], [national(2), "乙"]]
    batch = upload(tmp_path, rows, file_name="h.csv")
    batch = batch_header_set(batch=batch, header_row=0)
    assert batch.mapping["header_row"] == 0
    assert batch.mapping["headers"] == ["Column 1", "Column 2"]
    batch = batch_import_with_mapping(batch=batch, mapping={0: "mobile", 1: "name"})
    # The first row is data too: its "number" is no phone number.
    assert (batch.rows, batch.imported, batch.invalid) == (3, 2, 1)


@pytest.mark.parametrize("row", [99, 6, -1])
def test_a_header_row_outside_the_preview_or_without_data_below_is_refused(tmp_path, channel, row):
    batch = upload(tmp_path, TITLED)
    before = dict(batch.mapping)
    with pytest.raises(ValidationFailed):
        batch_header_set(batch=batch, header_row=row)
    batch.refresh_from_db()
    assert batch.mapping == before and batch.status == BatchStatus.MAPPING


def test_the_header_row_of_an_imported_batch_cannot_change(tmp_path, channel):
    batch = upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]], file_name="ok.csv")
    batch = batch_import_run(batch_id=batch.pk)
    with pytest.raises(InvalidState):
        batch_header_set(batch=batch, header_row=1)


def test_rows_of_notes_below_an_unknown_header_do_not_become_the_header(tmp_path, channel):
    """The guess builds on the title-row skipping: among the rows above the first data row
    it takes the fullest one, the first of equals (a title fills one cell)."""
    rows = [["名单"], ["客户", "联络号", "车牌"], ["必填", "必填", "选填"], ["甲", national(1), ""]]
    batch = upload(tmp_path, rows, file_name="notes.csv")
    assert batch.mapping["header_row"] == 2
    rows = [["名单"], ["导出人：张三", "", ""], ["客户", "联络号", "车牌"], ["甲", national(1), ""]]
    batch = upload(tmp_path, rows, name="另一个", file_name="titles.csv")
    assert batch.mapping["header_row"] == 3


def test_the_mapping_page_chooses_the_header_row_and_shows_its_columns(tmp_path, channel):
    officer = data_officer()
    batch = upload(tmp_path, TITLED, actor=officer)
    client = Client()
    client.force_login(officer)
    page = client.get(f"/leads/batches/{batch.pk}/mapping/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="header-form"' in html and 'data-testid="preview-row-3"' in html
    assert national(1) not in html
    swapped = client.post(
        f"/leads/batches/{batch.pk}/header/", {"header_row": "3"}, HTTP_HX_REQUEST="true"
    )
    part = swapped.content.decode()
    assert swapped.status_code == 200 and "<html" not in part
    assert 'id="mapping"' in part and "联络号" in part
    assert part.count("<select") == 3 and "导出人" in part  # the preview stays
    bad = client.post(f"/leads/batches/{batch.pk}/header/", {"header_row": "x"})
    assert bad.status_code == 422 and 'data-testid="header-error"' in bad.content.decode()
    plain = client.post(f"/leads/batches/{batch.pk}/header/", {"header_row": "1"})
    assert plain.status_code == 302 and plain["Location"].endswith("/mapping/")
    batch.refresh_from_db()
    assert batch.mapping["header_row"] == 1
    # Imported meanwhile (another tab): the page goes to the batch, with the reason.
    LeadBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DONE)
    late = client.post(
        f"/leads/batches/{batch.pk}/header/", {"header_row": "3"}, HTTP_HX_REQUEST="true"
    )
    assert late.status_code == 204 and late["HX-Redirect"] == f"/leads/batches/{batch.pk}/"


def test_the_api_sets_the_header_row(tmp_path, channel):
    officer = data_officer()
    batch = upload(tmp_path, TITLED, actor=officer)
    client = JsonClient()
    client.force_login(officer)
    body = client.get(f"/api/v1/leads/batches/{batch.pk}").json()
    assert [row["row"] for row in body["preview"]] == [1, 2, 3, 4, 5, 6]
    response = client.put_json(f"/api/v1/leads/batches/{batch.pk}/header", {"header_row": 3})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["header_row"] == 3 and body["headers"] == ["客户", "联络号", "车牌"]
    bad = client.put_json(f"/api/v1/leads/batches/{batch.pk}/header", {"header_row": 40})
    assert_error_shape(bad, 422, "validation_failed")


# --- Discarding a batch that imported nothing ----------------------------------------------
def test_a_batch_waiting_for_its_mapping_is_discarded_and_its_file_uploaded_again(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = upload(tmp_path, TITLED, actor=officer)
    assert len(stored_files()) == 1
    with pytest.raises(FileAlreadyImported) as refused:
        upload(tmp_path, TITLED, name="再传一次", actor=officer)
    assert "discard it" in refused.value.message
    other = upload(
        tmp_path, [["姓名", "手机号码"], ["乙", national(9)]], name="别的", file_name="o.csv"
    )
    other = batch_import_run(batch_id=other.pk)
    leads_before = list(Lead.objects.values_list("pk", "customer_id", "state"))

    with pytest.raises(PermissionDenied):
        batch_discard(batch=batch, actor=UserFactory(username="nobody"))
    with django_capture_on_commit_callbacks(execute=True):
        batch_discard(batch=batch, actor=officer)

    assert not LeadBatch.objects.filter(pk=batch.pk).exists()
    assert [p.name for p in stored_files()] == [Path(other.stored_file).name]
    assert list(Lead.objects.values_list("pk", "customer_id", "state")) == leads_before
    entry = AuditEntry.objects.get(action="leads.batch_discard")
    assert entry.object_id == str(batch.pk) and entry.before["status"] == "mapping"
    assert entry.before["name"] == "名单"
    again = upload(tmp_path, TITLED, actor=officer)  # the same file and the same name
    assert again.status == BatchStatus.MAPPING


@pytest.mark.parametrize("status", [BatchStatus.PENDING, BatchStatus.FAILED])
def test_a_pending_or_failed_batch_is_discarded(
    tmp_path, channel, officer, status, django_capture_on_commit_callbacks
):
    batch = upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]], file_name="p.csv")
    LeadBatch.objects.filter(pk=batch.pk).update(status=status)
    with django_capture_on_commit_callbacks(execute=True):
        batch_discard(batch=batch, actor=officer)
    assert not LeadBatch.objects.filter(pk=batch.pk).exists() and stored_files() == []


def test_a_batch_that_imported_leads_cannot_be_discarded(tmp_path, channel, officer):
    batch = upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]], file_name="d.csv")
    batch = batch_import_run(batch_id=batch.pk)
    with pytest.raises(InvalidState) as refused:
        batch_discard(batch=batch, actor=officer)
    assert "cannot be discarded" in refused.value.message and "1 leads" in refused.value.message
    LeadBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    with pytest.raises(InvalidState):
        batch_discard(batch=batch, actor=officer)
    assert LeadBatch.objects.filter(pk=batch.pk).exists() and Lead.objects.count() == 1
    assert len(stored_files()) == 1
    assert not AuditEntry.objects.filter(action="leads.batch_discard").exists()


@contextlib.contextmanager
def run_lock_held_elsewhere(batch_id: int):
    """Hold the batch's run lock as a live import in another process would: on PostgreSQL
    from another session (advisory locks are re-entrant within one), with SQLite through a
    second descriptor of the lock file (``flock`` locks are per open file)."""
    if connection.vendor != "postgresql":
        with importing._run_lock(batch_id) as acquired:
            assert acquired
            yield
        return
    import psycopg

    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )
    other.execute("SELECT pg_advisory_lock(%s, %s)", [importing._LOCK_CLASS, batch_id])
    try:
        yield
    finally:
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [importing._LOCK_CLASS, batch_id])
        other.close()


def left_running(batch: LeadBatch) -> LeadBatch:
    """The batch as a run that died mid-way leaves it: ``running``, some rows read."""
    LeadBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, processed=1)
    batch.refresh_from_db()
    return batch


def test_a_batch_left_running_by_a_dead_run_that_imported_nothing_is_discarded(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = left_running(upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]]))
    assert importing.batch_is_stale(batch) and importing.batch_discardable(batch)
    with pytest.raises(FileAlreadyImported) as refused:
        upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]], name="再传一次")
    assert "discard it" in refused.value.message
    with django_capture_on_commit_callbacks(execute=True):
        batch_discard(batch=batch, actor=officer)
    assert not LeadBatch.objects.filter(pk=batch.pk).exists() and stored_files() == []
    entry = AuditEntry.objects.get(action="leads.batch_discard")
    assert entry.before["status"] == "running" and entry.before["abandoned_run"] is True
    again = upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]])
    assert batch_import_run(batch_id=again.pk).imported == 1


def test_a_batch_really_being_imported_is_not_discarded(tmp_path, channel, officer):
    batch = left_running(upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]]))
    with run_lock_held_elsewhere(batch.pk):
        assert not importing.batch_is_stale(batch)
        assert not importing.batch_discardable(batch)
        with pytest.raises(ImportInProgress) as refused:
            batch_discard(batch=batch, actor=officer)
        assert "being imported" in refused.value.message
    assert LeadBatch.objects.filter(pk=batch.pk).exists() and len(stored_files()) == 1
    assert not AuditEntry.objects.filter(action="leads.batch_discard").exists()


def test_an_interrupted_batch_that_imported_leads_must_be_resumed(tmp_path, channel, officer):
    batch = upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]], actor=officer)
    batch = left_running(batch_import_run(batch_id=batch.pk))
    assert importing.batch_is_stale(batch) and not importing.batch_discardable(batch)
    with pytest.raises(InvalidState) as refused:
        batch_discard(batch=batch, actor=officer)
    message = refused.value.message
    assert "1 leads" in message and f"telesales leads-import --resume {batch.pk}" in message
    assert LeadBatch.objects.filter(pk=batch.pk).exists() and Lead.objects.count() == 1
    assert not AuditEntry.objects.filter(action="leads.batch_discard").exists()
    client = Client()
    client.force_login(officer)
    assert "discard/" not in client.get(f"/leads/batches/{batch.pk}/").content.decode()
    page = client.get(f"/leads/batches/{batch.pk}/discard/").content.decode()
    assert f"--resume {batch.pk}" in page and 'data-testid="discard-confirm"' not in page


def test_the_pages_offer_to_discard_a_dead_run_only(tmp_path, channel, officer):
    batch = left_running(upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]]))
    client = Client()
    client.force_login(officer)
    link = f'href="/leads/batches/{batch.pk}/discard/"'
    with run_lock_held_elsewhere(batch.pk):
        assert link not in client.get(f"/leads/batches/{batch.pk}/").content.decode()
        refused = client.get(f"/leads/batches/{batch.pk}/discard/").content.decode()
        assert 'data-testid="discard-error"' in refused
        assert 'data-testid="discard-confirm"' not in refused
    assert link in client.get(f"/leads/batches/{batch.pk}/").content.decode()
    confirm = client.get(f"/leads/batches/{batch.pk}/discard/").content.decode()
    assert 'data-testid="discard-confirm"' in confirm
    done = client.post(f"/leads/batches/{batch.pk}/discard/")
    assert done.status_code == 302 and not LeadBatch.objects.filter(pk=batch.pk).exists()


def test_a_dead_run_is_shown_interrupted_not_importing_and_is_not_polled(
    tmp_path, channel, officer
):
    """A batch left ``running`` by a run that died: its page and the lists say interrupted
    and offer the discard and the resume command; nothing polls. While a run is alive (its
    lock held), the same batch is shown importing and polled."""
    batch = left_running(upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]]))
    client = Client()
    client.force_login(officer)
    detail = f"/leads/batches/{batch.pk}/"
    with run_lock_held_elsewhere(batch.pk):
        alive = client.get(detail).content.decode()
        assert 'hx-trigger="every' in alive and 'data-testid="batch-stalled"' not in alive
        assert "data-stale" not in client.get("/leads/batches/").content.decode()
    page = client.get(detail).content.decode()
    assert "hx-trigger" not in page and "progress-bar-animated" not in page
    assert 'data-testid="batch-stalled"' in page and 'data-stale="1"' in page
    assert "已中断" in page and "导入任何线索之前" in page  # the page is in zh-Hans
    assert f'href="/leads/batches/{batch.pk}/discard/"' in page
    assert f"telesales leads-import --resume {batch.pk}" in page
    assert "导入完成后，被拒的行将显示在这里" in page and "没有被拒的行" not in page
    # A page opened while the run was alive polls once more, and is told to reload.
    part = client.get(detail, {"part": "progress"}, HTTP_HX_REQUEST="true")
    assert part["HX-Refresh"] == "true" and "hx-trigger" not in part.content.decode()
    for listing in ("/leads/batches/", "/leads/dashboard/"):
        html = client.get(listing).content.decode()
        assert 'data-stale="1"' in html and "已中断" in html and "导入中" not in html, listing
    discard = client.get(f"/leads/batches/{batch.pk}/discard/").content.decode()
    assert 'data-stale="1"' in discard and 'data-testid="discard-confirm"' in discard


def test_a_dead_run_that_imported_leads_is_shown_with_the_resume_command_only(
    tmp_path, channel, officer
):
    batch = upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]], actor=officer)
    batch = left_running(batch_import_run(batch_id=batch.pk))
    client = Client()
    client.force_login(officer)
    page = client.get(f"/leads/batches/{batch.pk}/").content.decode()
    assert 'data-testid="batch-stalled"' in page and "hx-trigger" not in page
    assert "导入 1 条线索后停止" in page and "不能丢弃" in page
    assert f"telesales leads-import --resume {batch.pk}" in page
    assert "/discard/" not in page


def test_the_discard_page_confirms_then_discards(tmp_path, channel):
    officer = data_officer()
    batch = upload(tmp_path, TITLED, actor=officer)
    client = Client()
    client.force_login(officer)
    detail = client.get(f"/leads/batches/{batch.pk}/").content.decode()
    assert f'href="/leads/batches/{batch.pk}/discard/"' in detail
    confirm = client.get(f"/leads/batches/{batch.pk}/discard/")
    assert confirm.status_code == 200
    assert 'data-testid="discard-confirm"' in confirm.content.decode()
    assert LeadBatch.objects.filter(pk=batch.pk).exists()  # a GET discards nothing
    done = client.post(f"/leads/batches/{batch.pk}/discard/")
    assert done.status_code == 302 and done["Location"] == "/leads/batches/"
    assert not LeadBatch.objects.filter(pk=batch.pk).exists()


def test_the_discard_page_refuses_an_imported_batch_clearly(tmp_path, channel):
    officer = data_officer()
    batch = upload(tmp_path, [["姓名", "手机号码"], ["甲", national(1)]], actor=officer)
    batch_import_run(batch_id=batch.pk)
    client = Client()
    client.force_login(officer)
    assert "discard/" not in client.get(f"/leads/batches/{batch.pk}/").content.decode()
    refused = client.post(f"/leads/batches/{batch.pk}/discard/")
    assert refused.status_code == 409
    assert 'data-testid="discard-error"' in refused.content.decode()
    assert LeadBatch.objects.filter(pk=batch.pk).exists()


def test_the_api_discards_a_batch_that_imported_nothing_only(tmp_path, channel):
    officer = data_officer()
    batch = upload(tmp_path, TITLED, actor=officer)
    client = JsonClient()
    client.force_login(officer)
    response = client.post_json(f"/api/v1/leads/batches/{batch.pk}/discard", {})
    assert response.status_code == 200
    assert response.json() == {"id": batch.pk, "name": "名单", "discarded": True}
    assert not LeadBatch.objects.filter(pk=batch.pk).exists()
    gone = client.post_json(f"/api/v1/leads/batches/{batch.pk}/discard", {})
    assert_error_shape(gone, 404)
    # The same file again, imported this time: no more discarding.
    file = SimpleUploadedFile("titled.csv", csv_bytes(TITLED), content_type="text/csv")
    created = client.post("/api/v1/leads/batches", {"file": file, "name": "名单", "channel": "web"})
    assert created.status_code == 201, created.content
    new_id = created.json()["id"]
    mapped = client.put_json(
        f"/api/v1/leads/batches/{new_id}/mapping", {"columns": {"1": "mobile"}}
    )
    assert mapped.status_code == 200
    batch_import_run(batch_id=new_id)
    refused = client.post_json(f"/api/v1/leads/batches/{new_id}/discard", {})
    assert_error_shape(refused, 409, "invalid_state")


def test_an_xlsx_with_title_rows_imports_from_the_chosen_header(tmp_path, channel):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in TITLED:
        sheet.append(row)
    path = tmp_path / "titled.xlsx"
    workbook.save(path)
    batch = batch_create(file=path, name="xlsx", channel_code="web")
    batch = batch_header_set(batch=batch, header_row=3)
    batch = batch_import_with_mapping(batch=batch, mapping={1: "mobile", 0: "name"})
    assert (batch.rows, batch.imported) == (3, 3)
