"""The import benchmark's body, run small in the test database on the current engine: the
counts match what the generator wrote, in CSV and in XLSX, and the ratio is the one reported."""

from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command

from bench.leads_import import HEADER, generate, to_xlsx
from telesales.core import benchmarks
from telesales.leads.models import BatchRejection, Customer, Lead, LeadBatch


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_import_benchmark_counts_match_the_generator(file_format):
    call_command("bench", "list", stdout=StringIO())  # registers the benchmarks
    figures = benchmarks.get("import").run(rows=600, format=file_format)
    assert figures["counts_match"] is True
    assert figures["format"] == file_format
    assert figures["rows"] == 600
    assert figures["duplicate"] > 0 and figures["invalid"] > 0 and figures["dnc_blocked"] > 0
    assert figures["imported"] == Lead.objects.count()
    assert LeadBatch.objects.get().file_name == f"leads.{file_format}"
    assert figures["bare_load_rows"] == 600
    assert figures["ratio_to_copy"] == pytest.approx(
        figures["seconds"] / figures["bare_load_s"], rel=0.1
    )
    # The floor: every row the import wrote, written again into indexed copies of its tables.
    assert figures["table_load_rows"] == (
        Customer.objects.count() + Lead.objects.count() + BatchRejection.objects.count()
    )
    assert figures["table_load_s"] > 0
    assert figures["floor_ratio"] == pytest.approx(  # both rounded: milliseconds here
        figures["table_load_s"] / figures["bare_load_s"], rel=0.2, abs=0.05
    )
    assert figures["ratio_to_table_load"] == pytest.approx(
        figures["seconds"] / figures["table_load_s"], rel=0.1
    )
    assert (figures["convert_s"] > 0) is (file_format == "xlsx")
    assert figures["peak_rss_mb"] > 0


def test_the_benchmark_workbook_holds_phone_numbers_as_number_cells(tmp_path):
    generate(tmp_path / "leads.csv", 300)
    to_xlsx(tmp_path / "leads.csv", tmp_path / "leads.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "leads.xlsx", read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and len(rows) == 301
    phones = [row[HEADER.index("手机号码")] for row in rows[1:]]
    numbers = [p for p in phones if isinstance(p, int | float)]
    assert len(numbers) > 150  # most are bare digits in the CSV
    assert all(len(str(int(n)).rstrip("0")) >= 7 for n in numbers)
    assert any(isinstance(p, str) and not p.isdigit() for p in phones)  # spaced, +86 …
