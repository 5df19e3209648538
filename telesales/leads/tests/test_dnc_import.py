"""Loading do-not-call numbers from a file: normalisation, counts, expiry, permanent blocks,
the leads it stops, the CLI, and the lead import that then refuses those numbers."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.phone_numbers import phone_hash
from telesales.core.roles import Role
from telesales.leads.choices import DncSource, LeadAction, LeadState
from telesales.leads.importing import ImportRefused, batch_create, batch_import_run, dnc_import
from telesales.leads.models import Channel, Customer, DncEntry, Lead, LeadEvent
from telesales.leads.services import dnc_add
from telesales.leads.tests.factories import (
    CustomerFactory,
    LeadFactory,
    LeadRuleSetFactory,
    PersonFactory,
    UserFactory,
    data_officer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def national(n: int) -> str:
    return f"139{n:08d}"


def e164(n: int) -> str:
    return "+86" + national(n)


def csv_file(tmp_path: Path, rows: list[list[object]], *, encoding="utf-8", name="dnc.csv"):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path = tmp_path / name
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def active(number: str):
    return DncEntry.objects.filter(phone_hash=phone_hash(number), removed_at__isnull=True)


def test_counts_added_invalid_and_already_listed(tmp_path):
    dnc_add(phone=national(3))  # blocks for 180 days: covers this import
    shorter = dnc_add(phone=national(4), days=10)  # shorter than this import: replaced
    path = csv_file(
        tmp_path,
        [
            ["手机号"],
            [national(1)],
            ["138 0000 0000"],
            ["+86 139-0000-0001"],  # the first number again
            ["12345"],
            [""],
            [national(3)],
            [national(4)],
            ["０１３９０００００００２"],  # full-width, with a trunk 0
        ],
        encoding="gbk",
    )
    result = dnc_import(file=path, reason="客户投诉名单")

    assert (result.rows, result.added, result.invalid, result.already_listed) == (7, 4, 1, 2)
    assert result.blank_rows == 1
    assert result.invalid_rows == [5]
    entry = active(e164(1)).get()
    assert entry.phone_masked == "139****0001"
    assert entry.source == DncSource.IMPORT
    assert entry.reason == "客户投诉名单"
    days = (entry.expires_at - timezone.now()).days
    assert 179 <= days <= 180
    # One entry in force per number: the shorter block made way for the import's.
    replacement = active(e164(4)).get()
    assert replacement.source == DncSource.IMPORT and replacement.pk != shorter.pk
    shorter.refresh_from_db()
    assert shorter.removed_at is not None
    assert active("+8613800000000").exists()
    assert active(e164(2)).exists()
    assert not Path(tmp_path / "media" / "imports").exists() or not any(
        (tmp_path / "media" / "imports").rglob("*.csv")
    )  # the file is not kept
    audit = AuditEntry.objects.get(action="leads.dnc_import")
    assert audit.actor_name == "system"
    assert audit.after["added"] == 4 and audit.after["superseded"] == 1


def test_the_rule_set_decides_the_default_period(tmp_path):
    LeadRuleSetFactory(dnc_days=365)
    dnc_import(file=csv_file(tmp_path, [[national(1)]]))
    days = (active(e164(1)).get().expires_at - timezone.now()).days
    assert 364 <= days <= 365


def test_days_and_permanent(tmp_path):
    dnc_import(file=csv_file(tmp_path, [[national(1)]]), days=30)
    assert 29 <= (active(e164(1)).get().expires_at - timezone.now()).days <= 30

    customer = CustomerFactory(mobile_e164=e164(1), mobile_hash=phone_hash(e164(1)))
    result = dnc_import(file=csv_file(tmp_path, [[national(1)]], name="p.csv"), permanent=True)
    assert result.added == 1  # the 30-day entry does not cover "for good"
    assert active(e164(1)).filter(expires_at__isnull=True).exists()
    customer.refresh_from_db()
    assert customer.no_marketing

    again = dnc_import(file=csv_file(tmp_path, [[national(1)]], name="q.csv"), permanent=True)
    assert (again.added, again.already_listed) == (0, 1)

    with pytest.raises(ValidationFailed):
        dnc_import(file=csv_file(tmp_path, [[national(2)]], name="r.csv"), days=5, permanent=True)
    with pytest.raises(ValidationFailed):
        dnc_import(file=csv_file(tmp_path, [[national(2)]], name="s.csv"), days=0)


def test_leads_of_listed_numbers_stop_and_their_history_says_so(tmp_path):
    agent = PersonFactory()
    open_lead = LeadFactory(
        customer=CustomerFactory(mobile_e164=e164(1), mobile_hash=phone_hash(e164(1))),
        state=LeadState.OWNED,
        owner=agent,
    )
    won = LeadFactory(
        customer=CustomerFactory(mobile_e164=e164(2), mobile_hash=phone_hash(e164(2))),
        state=LeadState.WON,
    )
    result = dnc_import(file=csv_file(tmp_path, [["电话"], [national(1)], [national(2)]]))
    assert result.leads_blocked == 1
    open_lead.refresh_from_db()
    won.refresh_from_db()
    assert (open_lead.state, open_lead.owner_id) == (LeadState.DNC, None)
    assert won.state == LeadState.WON
    event = LeadEvent.objects.get(lead=open_lead)
    assert (event.action, event.to_state, event.from_owner_id) == (
        LeadAction.DNC,
        LeadState.DNC,
        agent.pk,
    )


def test_a_headerless_list_and_an_xlsx_list(tmp_path):
    result = dnc_import(file=csv_file(tmp_path, [[national(1), "张三"], [national(2), "李四"]]))
    assert (result.rows, result.added) == (2, 2)

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "手机号码"])
    sheet.append(["王五", 13900000003])
    sheet.append(["赵六", 1.3900000004e10])
    sheet.append(["钱七", "not a number"])
    path = tmp_path / "dnc.xlsx"
    workbook.save(path)
    result = dnc_import(file=path)
    assert (result.rows, result.added, result.invalid) == (3, 2, 1)
    assert active(e164(4)).exists()


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("kind", ["xlsx", "gbk-csv"])
def test_a_title_row_above_the_header_is_skipped(tmp_path, kind):
    """A title ("禁呼名单") above the header: the numbers are read from the column the header
    names, not from the first column, and neither row counts."""
    rows = [
        ["禁呼名单"],
        ["姓名", "电话", "原因"],
        ["甲", national(11), "投诉"],
        [None, None, None],
        ["乙", national(12).translate(FULL_WIDTH), ""],
    ]
    if kind == "xlsx":
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        for row in rows:
            sheet.append(row)
        sheet.merge_cells("A1:C1")
        path = tmp_path / "dnc.xlsx"
        workbook.save(path)
    else:
        path = csv_file(tmp_path, [[c or "" for c in row] for row in rows], encoding="gbk")
    result = dnc_import(file=path)
    assert (result.rows, result.added, result.invalid) == (2, 2, 0)
    assert active(e164(11)).exists() and active(e164(12)).exists()


def test_a_lead_import_then_refuses_the_listed_numbers(tmp_path):
    Channel.objects.create(code="web", name="官网")
    dnc_import(file=csv_file(tmp_path, [[national(1)], [national(2)]]))
    path = csv_file(
        tmp_path, [["姓名", "手机"], ["甲", national(1)], ["乙", national(3)]], name="leads.csv"
    )
    batch = batch_create(file=path, name="after-dnc", channel_code="web")
    batch = batch_import_run(batch_id=batch.pk)
    assert (batch.rows, batch.imported, batch.dnc_blocked) == (2, 1, 1)
    assert not Customer.objects.filter(mobile_e164=e164(1)).exists()
    assert Lead.objects.get().customer.mobile_e164 == e164(3)


def test_a_no_marketing_customer_is_blocked_in_a_lead_import(tmp_path):
    Channel.objects.create(code="web", name="官网")
    CustomerFactory(mobile_e164=e164(5), mobile_hash=phone_hash(e164(5)), no_marketing=True)
    path = csv_file(tmp_path, [["手机"], [national(5)], [national(6)]], name="leads.csv")
    batch = batch_import_run(batch_id=batch_create(file=path, name="nm", channel_code="web").pk)
    assert (batch.rows, batch.imported, batch.duplicate, batch.dnc_blocked) == (2, 1, 0, 1)


def test_bad_files_and_permissions(tmp_path):
    # The messages are checked in the source language (the default, zh-hans, translates them).
    with translation.override("en"):
        with pytest.raises(ImportRefused, match="empty"):
            dnc_import(file=csv_file(tmp_path, []))
        path = tmp_path / "binary.csv"
        path.write_bytes(bytes(range(256)) * 10)
        with pytest.raises(ImportRefused, match="binary"):
            dnc_import(file=path)
        with pytest.raises(ImportRefused, match="no numbers"):
            dnc_import(file=csv_file(tmp_path, [["手机号"]], name="header.csv"))
    with pytest.raises(ImportRefused, match="文件为空"):
        dnc_import(file=csv_file(tmp_path, []))
    agent = UserFactory(username="agent-dnc", roles=[Role.AGENT])
    with pytest.raises(PermissionDenied):
        dnc_import(file=csv_file(tmp_path, [[national(1)]], name="a.csv"), actor=agent)
    assert DncEntry.objects.count() == 0
    officer = data_officer()
    dnc_import(file=csv_file(tmp_path, [[national(1)]], name="b.csv"), actor=officer)
    assert active(e164(1)).get().created_by == officer


def test_the_cli_prints_json_last(tmp_path):
    content = codecs.BOM_UTF8 + f"手机\r\n{national(1)}\r\nbad\r\n".encode()
    path = tmp_path / "cli.csv"
    path.write_bytes(content)
    out = io.StringIO()
    call_command("dnc_import", str(path), "--days", "200", "--reason", "投诉", "--json", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (figures["rows"], figures["added"], figures["invalid"]) == (2, 1, 1)
    assert figures["already_listed"] == 0
    assert figures["invalid_rows"] == [3]
    entry = active(e164(1)).get()
    assert entry.reason == "投诉"
    assert entry.expires_at - entry.created_at > dt.timedelta(days=199)

    with pytest.raises(CommandError):
        call_command("dnc_import", str(path), "--days", "5", "--permanent")
    with pytest.raises(CommandError, match="文件为空"):  # the CLI speaks LANGUAGE_CODE
        empty = tmp_path / "empty.csv"
        empty.write_bytes(b"")
        call_command("dnc_import", str(empty))


def test_an_import_closes_lapsed_entries_and_keeps_one_entry_per_number(tmp_path):
    """A number whose entry lapsed is listed again: the lapsed entry is closed at its expiry
    (the database allows one open entry per number), the new one blocks."""
    from telesales.leads.tests.factories import DncEntryFactory

    lapsed = DncEntryFactory(number=e164(5), expires_at=timezone.now() - dt.timedelta(days=2))
    result = dnc_import(file=csv_file(tmp_path, [[national(5)], [national(6)]]))
    assert (result.added, result.already_listed) == (2, 0)
    lapsed.refresh_from_db()
    assert lapsed.removed_at == lapsed.expires_at
    assert active(e164(5)).get().expires_at > timezone.now()
