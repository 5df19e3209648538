"""``telesales bench import --rows N [--format csv|xlsx] [--json]``: the lead import against a
bare bulk load.

Generates a seeded CSV of N rows (UTF-8; 姓名, 手机号码, 性别, 出生日期, 省份, 城市, 客户等级,
备注) with about 5 % duplicates within the file, 3 % invalid numbers and 1 % numbers on the
do-not-call list (loaded before the import), imports it through the real pipeline
(``batch_create`` + ``batch_import_run``) and reports the counts, the time, ``rows_per_s``,
``peak_rss_mb`` and ``ratio_to_copy``: import time ÷ the database's fastest bulk load of the
same raw rows into a bare table in the same run (PostgreSQL: ``COPY`` of the file into an
UNLOGGED table without indexes; SQLite: ``csv.reader`` + one-transaction ``executemany``).
``counts_match`` compares the counts with the generator's own truth.

A second reference says what no implementation can beat: ``table_load_s`` is the time to write
the rows the import wrote (its customers, leads and rejections) into empty copies of those
tables, with the same indexes and constraints (foreign keys aside), in one transaction, by one
``INSERT … SELECT`` per table inside the database (no file to read, nothing to check, nothing
sent over the connection). ``floor_ratio`` = ``table_load_s`` ÷ the bare load: the lowest
``ratio_to_copy`` any import writing these tables could reach in the same run, and
``ratio_to_table_load`` = import time ÷ ``table_load_s``: what the import costs above that.

With ``--format xlsx`` the same rows are written to an Excel workbook first, the way a
spreadsheet program saves them (a mobile number written as bare digits becomes a number cell),
and the workbook is imported; the bare load stays the CSV's, so the ratio also shows what
reading a workbook costs over reading text.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from telesales.core.benchmarks import Benchmark, empty_copy_ddl, peak_rss_mb
from telesales.core.benchmarks import register as _register
from telesales.core.phone_numbers import mask_phone, phone_hash
from telesales.leads import importing
from telesales.leads.choices import DncSource
from telesales.leads.models import Channel, DncEntry

HEADER = ["姓名", "手机号码", "性别", "出生日期", "省份", "城市", "客户等级", "备注"]
PREFIXES = ["138", "139", "186", "187", "150", "151", "136", "137"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强婷雪梅晓东海燕"
PLACES = [
    ("广东", "广州"),
    ("广东", "深圳"),
    ("江苏", "南京"),
    ("浙江", "杭州"),
    ("山东", "济南"),
    ("四川", "成都"),
    ("湖北", "武汉"),
    ("河南", "郑州"),
    ("北京", "北京"),
    ("上海", "上海"),
]
INVALID = ["1381234567", "12012345678", "4008208820", "138123456789", "110", "无", "0000000"]


def _mobile(i: int) -> str:
    """The i-th distinct valid mobile (a bijection: no set needed)."""
    rest = ((i // len(PREFIXES)) * 48_271 + 12_345) % 100_000_000
    return f"{PREFIXES[i % len(PREFIXES)]}{rest:08d}"


def _written(number: str, rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.80:
        return number
    if roll < 0.90:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if roll < 0.95:
        return f"+86 {number}"
    return f"{number[:3]}-{number[3:7]}-{number[7:]}"


def generate(path: Path, rows: int, seed: int = 20261126) -> dict:
    """Write the file; return the expected counts and the DNC numbers."""
    rnd = random.Random(seed)
    truth = {"rows": rows, "imported": 0, "duplicate": 0, "invalid": 0, "dnc_blocked": 0}
    dnc: list[str] = []
    recent: list[str] = []
    next_number = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for _row in range(rows):
            roll = rnd.random()
            if roll < 0.03:
                phone = rnd.choice(INVALID)
                truth["invalid"] += 1
            elif roll < 0.08 and recent:
                phone = _written(rnd.choice(recent), rnd)
                truth["duplicate"] += 1
            else:
                number = _mobile(next_number)
                next_number += 1
                phone = _written(number, rnd)
                if roll < 0.09:
                    dnc.append(number)
                    truth["dnc_blocked"] += 1
                else:
                    truth["imported"] += 1
                    recent.append(number)
                    if len(recent) > 2000:
                        recent = recent[-1000:]
            province, city = rnd.choice(PLACES)
            writer.writerow(
                [
                    rnd.choice(SURNAMES)
                    + rnd.choice(GIVEN)
                    + (rnd.choice(GIVEN) if roll > 0.5 else ""),
                    phone,
                    "男" if roll * 1000 % 2 < 1 else "女",
                    f"{rnd.randint(1960, 2002)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                    province,
                    city,
                    "ABCD"[int(roll * 400) % 4] if roll > 0.7 else "",
                    "",
                ]
            )
    return {"truth": truth, "dnc": dnc}


def to_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    """Write the CSV's rows to a one-sheet workbook (streamed: constant memory); digits-only
    phone cells become numbers, as they do when a spreadsheet program opens and saves them.

    Except a number with fewer than seven significant digits (13838800000): as a number cell
    it cannot be told from one whose digits a spreadsheet cut (1.38388E+10 read back), and the
    import refuses it as ``lost_digits`` by design; the generator's counts assume text."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("客户名单")
    phone = HEADER.index("手机号码")
    with open(csv_path, encoding="utf-8", newline="") as fh:
        for number, row in enumerate(csv.reader(fh)):
            digits = row[phone]
            if number and digits.isdigit() and len(digits.rstrip("0")) >= 7:
                row[phone] = int(digits)
            sheet.append(row)
    workbook.save(xlsx_path)


def bare_load_seconds(path: Path) -> tuple[float, int]:
    """The engine's fastest bulk load of the same raw rows into a bare table."""
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_raw")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE UNLOGGED TABLE bench_import_raw ({columns})")
            start = time.perf_counter()
            with (
                open(path, "rb") as fh,
                cursor.cursor.copy(
                    "COPY bench_import_raw FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
            ):
                while block := fh.read(1 << 20):
                    copy.write(block)
            seconds = time.perf_counter() - start
        else:
            cursor.execute(f"CREATE TABLE bench_import_raw ({columns})")
            placeholders = ", ".join("?" for _c in HEADER)
            start = time.perf_counter()
            with transaction.atomic(), open(path, encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                next(reader)
                connection.connection.executemany(
                    f"INSERT INTO bench_import_raw VALUES ({placeholders})",  # noqa: S608
                    reader,
                )
            seconds = time.perf_counter() - start
        cursor.execute("SELECT COUNT(*) FROM bench_import_raw")
        loaded = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_import_raw")
    return seconds, loaded


#: The tables an import writes, in the order it writes them.
WRITTEN_TABLES = ("leads_customer", "leads_lead", "leads_batchrejection")


def table_load_seconds() -> tuple[float, int]:
    """Seconds to write every row of the tables the import wrote into empty, indexed copies
    of them, in one transaction (``INSERT … SELECT`` per table); and how many rows."""
    copies = {table: f"bench_floor_{table}" for table in WRITTEN_TABLES}
    with connection.cursor() as cursor:
        for table, copy in copies.items():
            cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
            for statement in empty_copy_ddl(table, copy):
                cursor.execute(statement)
    if connection.vendor == "postgresql":
        # The import's WAL is still being written back: let a checkpoint finish it first, so
        # that the floor is not charged for it (superusers only; without the right it is not).
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    rows = 0
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, copy in copies.items():
            cursor.execute(f'INSERT INTO "{copy}" SELECT * FROM "{table}"')  # noqa: S608
            rows += cursor.rowcount
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        for copy in copies.values():
            cursor.execute(f'DROP TABLE "{copy}"')
    return seconds, rows


FORMATS = ("csv", "xlsx")


def run(*, rows: int, format: str = "csv") -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-import-", dir=settings.DATA_DIR))
    path = folder / "leads.csv"
    start = time.perf_counter()
    generated = generate(path, rows)
    generate_s = time.perf_counter() - start
    imported_path, convert_s = path, 0.0
    if format == "xlsx":
        imported_path = folder / "leads.xlsx"
        start = time.perf_counter()
        to_xlsx(path, imported_path)
        convert_s = time.perf_counter() - start
    file_mb = round(imported_path.stat().st_size / 1e6, 1)
    now = timezone.now()
    DncEntry.objects.bulk_create(
        [
            DncEntry(
                phone_hash=phone_hash("+86" + number),
                phone_masked=mask_phone(number),
                source=DncSource.IMPORT,
                expires_at=now + dt.timedelta(days=180),
            )
            for number in generated["dnc"]
        ],
        batch_size=5000,
    )
    Channel.objects.create(
        code="bench", name="基准渠道", consent_wording="本人同意接听保险介绍电话"
    )
    copy_s, loaded = bare_load_seconds(path)
    start = time.perf_counter()
    batch = importing.batch_create(
        file=imported_path,
        name="bench",
        channel_code="bench",
        actor=None,
        file_name=imported_path.name,
    )
    created_s = time.perf_counter() - start
    batch = importing.batch_import_run(batch_id=batch.pk)
    import_s = time.perf_counter() - start
    table_s, table_rows = table_load_seconds()
    (Path(settings.MEDIA_ROOT) / batch.stored_file).unlink(missing_ok=True)
    for made in {path, imported_path}:
        made.unlink()
    folder.rmdir()
    counts = {
        "rows": batch.rows,
        "imported": batch.imported,
        "duplicate": batch.duplicate,
        "invalid": batch.invalid,
        "dnc_blocked": batch.dnc_blocked,
    }
    summary = batch.mapping.get("summary", {})
    steps = summary.get("merge_steps", {})
    accounted = created_s + (summary.get("read_seconds") or 0) + (summary.get("merge_seconds") or 0)
    return {
        **counts,
        "counts_match": counts == generated["truth"],
        "format": format,
        "file_mb": file_mb,
        "generate_s": round(generate_s, 2),
        "convert_s": round(convert_s, 2),
        "bare_load_rows": loaded,
        "bare_load_s": round(copy_s, 4),
        "create_s": round(created_s, 2),
        "reader": summary.get("reader"),
        "read_s": summary.get("read_seconds"),
        "staging_s": summary.get("staging_seconds"),
        "merge_s": summary.get("merge_seconds"),
        "customers_s": steps.get("customers"),
        "leads_s": steps.get("leads"),
        "rejections_s": steps.get("rejections"),
        "commit_s": round(import_s - accounted, 2),
        "seconds": round(import_s, 3),
        "rows_per_s": round(rows / import_s) if import_s else None,
        "ratio_to_copy": round(import_s / copy_s, 2) if copy_s else None,
        "table_load_rows": table_rows,
        "table_load_s": round(table_s, 4),
        "floor_ratio": round(table_s / copy_s, 2) if copy_s else None,
        "ratio_to_table_load": round(import_s / table_s, 2) if table_s else None,
        "peak_rss_mb": peak_rss_mb(),
    }


def register() -> None:
    _register(
        Benchmark(
            name="import",
            description=(
                "lead import of a generated CSV (or XLSX) against the engine's bare bulk load"
            ),
            run=run,
            defaults={"rows": 100_000, "format": "csv"},
            choices={"format": FORMATS},
            minimums={"rows": 1},
            sqlite_file="bench-import.sqlite3",
        )
    )
