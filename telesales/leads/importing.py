"""Lead import: read a CSV or XLSX file, check and deduplicate its rows, load them in bulk.

One file is one :class:`~telesales.leads.models.LeadBatch`:

1. :func:`batch_create` (the upload) checks the permission and the input, stores the file under
   ``MEDIA_ROOT/imports/`` with its SHA-256, reads its head (format, encoding, delimiter, header)
   and refuses what cannot be imported with a clear message: an empty file, a header-only
   file, a binary file (NUL bytes, not text, an old ``.xls``), a file over
   ``TELESALES_IMPORT_MAX_BYTES`` (default 200 MB; refused before it is read), a file in which
   no column holds phone numbers. A header it cannot map puts the batch in status ``mapping``
   with the headers, a few sample rows and the first rows of the file (numbers masked);
   :func:`batch_header_set` lets the user choose which row holds the headers (the guess may
   be a title row), :func:`batch_import_with_mapping` continues. :func:`batch_discard` throws
   away a batch that imported nothing (mapping, pending, failed, or left running by a run
   that died) with its stored file, so that the same file can be uploaded again.
2. :func:`batch_import_run` (the worker body; Celery task ``leads_batch_import_task``) reads
   the rows in chunks, normalises and validates them (phone, in-file duplicates, the DNC list
   as it stands when reading starts) and loads them into a temporary staging table
   (PostgreSQL: ``COPY``; SQLite: ``executemany``), committing ``LeadBatch.processed`` after
   every chunk for the progress bar. A plain CSV file (one row per line, no quoting: most
   files) is read column-wise with polars (:class:`_ColumnReader`), anything else row by row;
   both make the same decisions with the same functions. It then merges the staging table in
   ONE transaction with set-based SQL: DNC entries made meanwhile, existing customers
   (no-marketing ones count as DNC), ``INSERT … SELECT … ON CONFLICT (mobile_hash) DO
   NOTHING`` into customers, an ``INSERT … SELECT`` into leads
   (public pool), the rejection rows, the counts and the status. Each staged row already
   knows its customer id (PostgreSQL: drawn from the customers' sequence as it is copied in;
   SQLite: the table's next ids under the write lock), so no insert needs a join. On
   PostgreSQL the merge checks its own foreign keys when the role may switch the row
   triggers off (:func:`_foreign_key_triggers_off`).

Decisions:

- **Formats are detected from the bytes**, never from the extension: a ZIP is an XLSX (read
  with python-calamine when installed, else openpyxl in read-only mode), an OLE2 file is an
  old Excel 97–2003 ``.xls`` workbook (read by python-calamine; refused, with "save it as
  .xlsx or .csv", when calamine cannot open it — a Word file, a damaged workbook, calamine
  missing), anything else must be text: UTF-8 with or
  without a BOM, UTF-16 with a BOM (Excel's "Unicode text"), else GB18030 (a superset of GBK,
  which Chinese Excel writes). The delimiter (comma, tab, semicolon, pipe) is sniffed.
- **Rows**: the header is the first of the first 20 non-blank rows in which a phone column is
  recognised (title rows above it are skipped); when no row names one, the fullest row above
  the first row holding phone numbers (:func:`_find_header`); the user may choose another
  one of those rows at the mapping step. Blank rows are skipped and not counted
  (``mapping["summary"]["blank_rows"]`` says how many). A CSV row with more or fewer cells
  than the header is rejected as ``bad_row`` (extra *empty* trailing cells are tolerated); a
  row with undecodable bytes as ``bad_encoding``; the rest of the file still imports.
- **Counts are exact and add up**: ``rows = imported + duplicate + invalid + dnc_blocked``.
  ``duplicate`` = within the file (the first row wins) + already a customer; ``dnc_blocked`` =
  active DNC entry or a customer flagged no-marketing (checked before "already a customer").
- **ID numbers** are optional data: an invalid one does not lose the lead. The lead imports
  without it and the rejection report lists a *warning* row (reason ``invalid_id_number``,
  outcome "imported"); a valid one fills a blank gender and birth date. Unreadable birth dates
  and consent times are treated the same way (warning ``invalid_value``). Warnings are not
  counted in ``invalid``; ``mapping["summary"]["warnings"]`` holds their number.
- **Idempotent**: a file whose SHA-256 matches a batch that is not ``failed`` (nor
  discarded) is refused with a message naming that batch (``allow_repeat=True``, CLI
  ``--again``, runs it anyway and it imports 0: every row is then a duplicate). A different
  file with the same numbers imports nothing either (duplicate_existing).
- **Crash safety**: nothing reaches the customer and lead tables before the final
  transaction, so a process killed at any moment leaves either the whole batch or none of it.
  A run holds a lock (PostgreSQL advisory lock; a ``flock`` file with SQLite) that dies with
  its process; a batch in status ``running`` whose lock is free was left by a dead process
  (:func:`batch_is_stale`) and is simply run again (``telesales leads-import --resume ID``,
  or :func:`batch_resume` from its page or the API, which queues it as the upload does),
  or discarded (:func:`batch_discard`, under the lock) if it imported nothing. A batch
  queued (``pending``) that no worker started within ``TELESALES_IMPORT_QUEUE_MINUTES``
  (:func:`batch_is_overdue`) may be queued again the same way.
- **History**: the batch is the creation record of its leads (``Lead.batch``, the batch's
  times, counts and audit entry); no per-lead ``import`` event is written, which would double
  the rows written per import. Later transitions are recorded in the lead history as usual.
- **Unknown channel codes** are refused (a typo must not create a channel that carries no
  consent wording) unless the caller asks for ``create_channel=True`` (CLI
  ``--create-channel``), which creates it with the code as its name and says so.
- **Consent**: from the row's consent columns when present, else — only when the channel has
  consent wording — the channel's wording, the channel's name as the source and the upload
  time as the consent time. Without either, the lead imports without consent and cannot be
  claimed, allocated or dialled until consent is recorded.
- **Remarks** (备注) and sequence-number columns are recognised and not stored (leads have no
  remark field).
- **Costs**: memory grows with the distinct numbers of the file (~100 bytes each, for the
  in-file duplicate check) and the active DNC list (~150 bytes per entry); the file itself is
  streamed (CSV, 50,000 lines at a time) or read by calamine (XLSX, whose sheets are refused
  past ``XLSX_MAX_EXPANSION`` times the byte limit). On SQLite the final transaction holds the
  database's write lock: a million-row file keeps other writers waiting for seconds, so big
  centers use PostgreSQL. ``mapping["sample"]`` (a batch waiting for its mapping) is stored with
  its phone numbers masked; the file itself, in the data directory, holds them in full.
"""

# ruff: noqa: S608 - SQL here names internal tables; every value is a query parameter.
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import re
import sys
import time
import unicodedata
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import (
    Conflict,
    DomainError,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from telesales.core.id_numbers import ID_NUMBER_ERRORS, mask_id_number, validate_id_number
from telesales.core.memory import without_cyclic_gc
from telesales.core.phone_numbers import (
    E164_PATTERN,
    FAST_MOBILE_PATTERN,
    PHONE_ERRORS,
    mask_phone,
    mobile_blocks,
    normalise_phone,
    phone_hash,
    phone_hashes,
)
from telesales.leads import permissions
from telesales.leads.choices import (
    BatchStatus,
    DncSource,
    LeadAction,
    LeadGrade,
    LeadState,
    RejectReason,
)
from telesales.leads.exporting import neutralise, xlsx_safe
from telesales.leads.masking import mask_numbers_in
from telesales.leads.models import (
    BatchRejection,
    Channel,
    Customer,
    DncEntry,
    Lead,
    LeadBatch,
)

__all__ = [
    "FIELDS",
    "DncImportResult",
    "FileAlreadyImported",
    "ImportInProgress",
    "ImportQueued",
    "ImportRefused",
    "NeedsMapping",
    "batch_create",
    "batch_discard",
    "batch_discard_refusal",
    "batch_discardable",
    "batch_header_set",
    "batch_import_queue",
    "batch_import_run",
    "batch_import_with_mapping",
    "batch_is_overdue",
    "batch_is_stale",
    "batch_preview",
    "batch_rejection_report",
    "batch_resume",
    "batch_resume_refusal",
    "batches_stale_mark",
    "dnc_import",
    "import_max_bytes",
    "import_queue_timeout",
    "normalise_header",
]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_QUEUE_MINUTES = 10  # TELESALES_IMPORT_QUEUE_MINUTES: see import_queue_timeout
CHUNK_ROWS = 50_000
HEAD_BYTES = 1 << 20  # read to detect format, encoding and delimiter
BLOCK_BYTES = 1 << 20  # CSV is decoded in blocks of this size (a line is never split)
HEADER_SEARCH_ROWS = 20
SAMPLE_ROWS = 5
XLSX_MAX_EXPANSION = 8  # uncompressed sheets may be this many times the byte limit
RAW_SEPARATOR = "\x1f"  # joins a row's cells in the staging table (unit separator)

# --- Errors ---------------------------------------------------------------------------------


class ImportRefused(ValidationFailed):
    """The file cannot be imported at all; nothing was imported."""

    code = "import_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, fields={"file": [message]})


class FileAlreadyImported(Conflict):
    code = "file_already_imported"


class ImportInProgress(Conflict):
    code = "import_in_progress"


class NeedsMapping(InvalidState):
    code = "needs_mapping"


class ImportQueued(Conflict):
    code = "import_queued"


# --- Fields and header synonyms --------------------------------------------------------------

IGNORE = ""
FIELDS: dict[str, Any] = {
    "name": gettext_lazy("Name"),
    "mobile": gettext_lazy("Mobile"),
    "gender": gettext_lazy("Gender"),
    "birth_date": gettext_lazy("Birth date"),
    "id_number": gettext_lazy("ID number"),
    "province": gettext_lazy("Province"),
    "city": gettext_lazy("City"),
    "grade": gettext_lazy("Lead grade"),
    "consent_at": gettext_lazy("Consent time"),
    "consent_source": gettext_lazy("Consent source"),
    "consent_wording": gettext_lazy("Consent wording"),
    "consent_evidence": gettext_lazy("Consent evidence"),
    "remark": gettext_lazy("Remark (not stored)"),
}

# Normalised forms (see normalise_header); for the phone column, earlier is preferred.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "mobile": (
        "手机号码", "手机号", "手机", "移动电话", "手机号码1", "mobile", "mobilephone",
        "mobilenumber", "mobileno", "cell", "cellphone", "cellphonenumber", "联系电话", "电话",
        "电话号码", "联系方式", "联系号码", "phone", "phonenumber", "phoneno", "tel",
        "telephone", "telno", "contactnumber",
    ),
    "name": (
        "姓名", "客户姓名", "客户名称", "名字", "客户名", "客户", "联系人", "name",
        "customername", "fullname", "customer",
    ),
    "gender": ("性别", "gender", "sex"),
    "birth_date": (
        "出生日期", "生日", "出生年月日", "出生年月", "birthdate", "birthday", "dateofbirth",
        "dob",
    ),
    "id_number": (
        "身份证", "身份证号", "身份证号码", "证件号码", "证件号", "身份证件号码",
        "idnumber", "idcard", "idno", "idcardnumber", "idcardno",
    ),
    "province": ("省", "省份", "所在省", "所在省份", "province"),
    "city": ("城市", "市", "所在城市", "所在市", "地市", "city"),
    "grade": ("等级", "级别", "客户等级", "客户级别", "意向等级", "grade", "level"),
    "consent_at": ("授权时间", "授权日期", "同意时间", "consenttime", "consentat", "consentdate"),
    "consent_source": ("授权来源", "授权渠道", "consentsource"),
    "consent_wording": (
        "授权话术", "授权内容", "授权文本", "consentwording", "consenttext", "consent",
    ),
    "consent_evidence": ("授权凭证", "授权证据", "授权记录", "consentevidence"),
    "remark": (
        "备注", "说明", "备注信息", "remark", "remarks", "note", "notes", "comment", "comments",
    ),
}  # fmt: skip
_IGNORABLE = frozenset({"", "序号", "编号", "行号", "序", "no", "index", "seq", "rowno", "number"})
_EXACT: dict[str, tuple[str, int]] = {
    syn: (fld, rank) for fld, syns in _SYNONYMS.items() for rank, syn in enumerate(syns)
}
# Chinese compounds put the head noun last: 客户手机号码, 紧急联系人电话, 所在城市.
_SUFFIXES = sorted(
    (
        (syn, fld, rank)
        for syn, (fld, rank) in _EXACT.items()
        if len(syn) >= 2 and not syn.isascii()
    ),
    key=lambda item: -len(item[0]),
)
_HEADER_NOTES = re.compile(r"[(\[（【<《][^)\]）】>》]*[)\]）】>》]")
_HEADER_JUNK = re.compile(r"[\W_]+")


def normalise_header(text: object) -> str:
    """``" *手机号码（必填）"`` → ``"手机号码"``: NFKC (full-width to half-width), lower case,
    no notes in brackets, no spaces or punctuation."""
    value = unicodedata.normalize("NFKC", _cell_text(text)).strip().lower()
    value = _HEADER_NOTES.sub("", value)
    return _HEADER_JUNK.sub("", value)


def _field_for_header(text: object) -> tuple[str | None, int]:
    """The field a header names and its preference (lower is better), or (None, 0)."""
    key = normalise_header(text)
    if key in _IGNORABLE:
        return IGNORE, 0
    if key in _EXACT:
        return _EXACT[key]
    stripped = key.rstrip("0123456789")
    if stripped != key and stripped in _EXACT:
        fld, rank = _EXACT[stripped]
        return fld, 100 + rank
    for syn, fld, rank in _SUFFIXES:
        if key.endswith(syn):
            return fld, 200 + rank
    return None, 0


@dataclass
class _Mapping:
    columns: dict[int, str]  # column index -> field ("" = ignore)
    unknown: list[int]

    @property
    def complete(self) -> bool:
        return not self.unknown and "mobile" in self.columns.values()


def _auto_map(header: list[Any]) -> _Mapping:
    """Map header cells to fields. For a field named twice the best match wins (for the phone
    column: 手机号码 before 电话); the other columns are ignored."""
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, column)
    columns: dict[int, str] = {}
    unknown: list[int] = []
    for index, cell in enumerate(header):
        fld, rank = _field_for_header(cell)
        if fld is None:
            unknown.append(index)
            continue
        columns[index] = IGNORE
        if fld and (fld not in best or rank < best[fld][0]):
            best[fld] = (rank, index)
    for fld, (_rank, index) in best.items():
        columns[index] = fld
    return _Mapping(columns=columns, unknown=unknown)


# --- Reading --------------------------------------------------------------------------------

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_DELIMITERS = (",", "\t", ";", "|")


def import_max_bytes() -> int:
    return int(getattr(settings, "TELESALES_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def import_queue_timeout() -> dt.timedelta:
    """How long a batch may wait (status ``pending``) for a worker to start its import
    before pages show it as waiting too long and offer to queue it again:
    ``TELESALES_IMPORT_QUEUE_MINUTES`` (default 10)."""
    minutes = getattr(settings, "TELESALES_IMPORT_QUEUE_MINUTES", DEFAULT_QUEUE_MINUTES)
    return dt.timedelta(minutes=int(minutes))


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


@dataclass
class _Source:
    """A readable table: where it is and how to read it."""

    path: Path
    format: str  # "csv" | "xlsx" | "xls"
    encoding: str = ""
    delimiter: str = ","
    sheet: str = ""
    encoding_locked: bool = True
    bom: bytes = b""
    total_rows: int = 0  # known once an XLSX sheet is open

    @property
    def text_cells(self) -> bool:
        return self.format == "csv"

    def describe(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
        }

    def rows(self) -> Iterator[tuple[int, list[Any], bool]]:
        """Yield (row number as a spreadsheet shows it, cells, undecodable bytes?)."""
        if self.format != "csv":  # a workbook, new or old
            return _xlsx_rows(self)
        return _csv_rows(self)

    def estimate_rows(self) -> int:
        if self.format != "csv":
            return 0
        count = 0
        with open(self.path, "rb") as fh:
            while block := fh.read(BLOCK_BYTES):
                count += block.count(b"\n")
        return count


def _open_source(path: Path) -> _Source:
    """Detect the format from the bytes; refuse files that are not tables."""
    size = path.stat().st_size
    if size == 0:
        raise ImportRefused(_("The file is empty."))
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    if head.startswith(_ZIP):
        return _xlsx_source(path)
    if head.startswith(_OLE2):
        return _xls_source(path)
    if head.startswith(_BINARY_MAGIC):
        raise ImportRefused(_not_text_message())
    source = _Source(path=path, format="csv")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        source.encoding = "utf-16"
        text = head[: len(head) - len(head) % 2].decode("utf-16", "replace")
    else:
        if b"\x00" in head:
            raise ImportRefused(_not_text_message())
        if head.startswith(codecs.BOM_UTF8):
            source.bom = codecs.BOM_UTF8
            head = head[len(codecs.BOM_UTF8) :]
        if len(head) == HEAD_BYTES and b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]  # do not judge a character cut in two
        source.encoding, source.encoding_locked = _detect_encoding(head, bool(source.bom))
        text = head.decode(source.encoding, "replace")
        bad = text.count("\ufffd")
        if bad and bad > max(3, len(text) // 200):
            raise ImportRefused(_not_text_message())
    if not text.strip(" \t\r\n\ufeff"):
        raise ImportRefused(_("The file is empty."))
    if len(_CONTROL.findall(text)) > max(3, len(text) // 100):
        raise ImportRefused(_not_text_message())
    source.delimiter = _sniff_delimiter(text)
    return source


def _not_text_message() -> str:
    return _(
        "This is not a table the import can read (it holds binary data). "
        "Upload an Excel workbook (.xlsx) or a CSV file."
    )


def _detect_encoding(head: bytes, has_bom: bool) -> tuple[str, bool]:
    """(encoding, locked). Pure ASCII is undecided: UTF-8 until a block says GB18030."""
    if has_bom:
        return "utf-8", True
    if head.isascii():
        return "utf-8", False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        utf8_bad = head.decode("utf-8", "replace").count("\ufffd")
        gb_bad = head.decode("gb18030", "replace").count("\ufffd")
        return ("gb18030" if gb_bad < utf8_bad else "utf-8"), True
    return "utf-8", True


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits most of the first lines into the same number (≥ 2) of
    cells; a title line above the header does not mislead it."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut short
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        common = Counter(w for w in widths if w >= 2).most_common(1)
        if not common:
            continue
        width, frequency = common[0]
        if (frequency, width) > best_score:
            best, best_score = delimiter, (frequency, width)
    return best


def _xlsx_source(path: Path) -> _Source:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" not in names:
                raise ImportRefused(
                    _("This is a ZIP archive, not an Excel workbook. Upload .xlsx or .csv.")
                )
            sheets = sum(
                info.file_size
                for info in archive.infolist()
                if info.filename.startswith("xl/worksheets/")
                or info.filename == "xl/sharedStrings.xml"
            )
    except zipfile.BadZipFile as exc:
        raise ImportRefused(_("This Excel workbook is damaged and cannot be read.")) from exc
    if sheets > XLSX_MAX_EXPANSION * import_max_bytes():
        raise ImportRefused(
            _("This workbook is too large to read (%(mb)s MB of sheet data); save it as CSV.")
            % {"mb": _mb(sheets)}
        )
    return _Source(path=path, format="xlsx", encoding="", delimiter="")


def _xls_source(path: Path) -> _Source:
    """An old Excel 97–2003 workbook (an OLE2 file): read by calamine when it opens one;
    anything else in an OLE2 file (a Word document, a damaged workbook) is refused."""
    refused = ImportRefused(
        _(
            "This old Excel workbook (.xls) or other Office file cannot be read. "
            "Save it as .xlsx or .csv (UTF-8) and upload it again."
        )
    )
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - python-calamine is a dependency
        raise refused from None
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise refused
    except ImportRefused:
        raise
    except Exception as exc:  # calamine raises its own error types for what it cannot read
        raise refused from exc
    return _Source(path=path, format="xls", encoding="", delimiter="")


def _decoded_lines(source: _Source, bad_lines: set[int]) -> Iterator[str]:
    """The file's lines as text, line ends kept (csv needs them). Blocks that do not decode
    are decoded line by line; a line with undecodable bytes is noted in ``bad_lines``."""
    lineno = 0
    if source.encoding.startswith("utf-16"):
        with open(source.path, encoding="utf-16", errors="replace", newline="") as fh:
            for line in fh:
                lineno += 1
                if "\ufffd" in line or "\x00" in line:
                    bad_lines.add(lineno)
                    line = line.replace("\x00", "")
                yield line
        return
    encoding, locked = source.encoding, source.encoding_locked
    with open(source.path, "rb") as fh:
        fh.read(len(source.bom))
        while block := fh.read(BLOCK_BYTES):
            if not block.endswith(b"\n"):
                block += fh.readline(BLOCK_BYTES)
            text: str | None
            try:
                text = block.decode(encoding)
            except UnicodeDecodeError:
                text = None
                if not locked:
                    # The first non-ASCII block of a file that began in ASCII decides.
                    encoding, locked = _detect_encoding(block, False)
                    source.encoding, source.encoding_locked = encoding, locked
                    with contextlib.suppress(UnicodeDecodeError):
                        text = block.decode(encoding)
            if text is not None and "\x00" not in text:
                for line in io.StringIO(text, newline=""):
                    lineno += 1
                    yield line
                continue
            for raw in block.splitlines(keepends=True):
                lineno += 1
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError:
                    line = raw.decode(encoding, "replace")
                    bad_lines.add(lineno)
                if "\x00" in line:
                    line = line.replace("\x00", "")
                    bad_lines.add(lineno)
                yield line


def _csv_rows(source: _Source) -> Iterator[tuple[int, list[Any], bool]]:
    bad_lines: set[int] = set()
    reader = csv.reader(_decoded_lines(source, bad_lines), delimiter=source.delimiter)
    previous_line = 0
    record = 0
    try:
        for cells in reader:
            record += 1
            bad = False
            if bad_lines:
                line = reader.line_num
                bad = any(n in bad_lines for n in range(previous_line + 1, line + 1))
                previous_line = line
            yield record, cells, bad
    except csv.Error as exc:
        raise ImportRefused(
            _("Row %(row)s cannot be read as CSV (%(problem)s); nothing was imported.")
            % {"row": record + 1, "problem": exc}
        ) from exc


def _xlsx_rows(source: _Source) -> Iterator[tuple[int, list[Any], bool]]:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - python-calamine is a dependency
        yield from _openpyxl_rows(source)
        return
    try:
        workbook = CalamineWorkbook.from_path(str(source.path))
        sheet = None
        for meta in workbook.sheets_metadata:
            candidate = workbook.get_sheet_by_name(meta.name)
            if candidate.height and str(meta.visible).endswith("Visible"):
                sheet = candidate
                break
        if sheet is None:
            return
        source.sheet = sheet.name
        source.total_rows = sheet.height
        first_row = (sheet.start or (0, 0))[0]
        rows = sheet.iter_rows()
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise ImportRefused(
            _("This Excel workbook cannot be read: %(problem)s") % {"problem": exc}
        ) from exc
    for offset, cells in enumerate(rows):
        yield first_row + offset + 1, cells, False


def _openpyxl_rows(source: _Source) -> Iterator[tuple[int, list[Any], bool]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except Exception as exc:
        raise ImportRefused(
            _("This Excel workbook cannot be read: %(problem)s") % {"problem": exc}
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        source.sheet = sheet.title
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells), False
    finally:
        workbook.close()


# --- Cell values ------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """A cell as text: whole numbers without ``.0``, dates in ISO form."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value  # type: ignore[return-value]
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def _is_blank(cells: list[Any], text_cells: bool) -> bool:
    if text_cells:
        return not cells or not "".join(cells).strip()
    return all(c is None or (c.__class__ is str and not c.strip()) for c in cells)


def _raw_text(cells: list[Any], text_cells: bool) -> str:
    if text_cells:
        return RAW_SEPARATOR.join(cells)
    return RAW_SEPARATOR.join(map(_cell_text, cells))


_GENDERS = {
    "男": "M", "男性": "M", "先生": "M", "m": "M", "male": "M", "1": "M",
    "女": "F", "女性": "F", "女士": "F", "f": "F", "female": "F", "2": "F",
}  # fmt: skip
_GRADES = {g.lower(): g for g in LeadGrade.values}
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2})(?:\.\d+)?)?)?",
    re.ASCII,
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?", re.ASCII)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_INVALID = object()


def _parse_gender(value: object) -> str:
    key = unicodedata.normalize("NFKC", _cell_text(value)).strip().lower()
    return _GENDERS.get(key, "")


def _parse_grade(value: object) -> str | None:
    key = unicodedata.normalize("NFKC", _cell_text(value)).strip().lower()
    key = key.removesuffix("级客户").removesuffix("类").removesuffix("级")
    return _GRADES.get(key)


def _parse_datetime(value: object) -> object:
    """A naive datetime from a date/time cell, or None for an empty cell, or _INVALID."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if 10000000 <= number <= 99991231 and float(number).is_integer():
            return _parse_datetime(str(int(number)))
        if 1 <= number < 2958466:  # an Excel serial date
            return _EXCEL_EPOCH + dt.timedelta(days=number)
        return _INVALID
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        if re.fullmatch(r"\d{5}(?:\.\d+)?", text):
            return _parse_datetime(float(text))
        return _INVALID
    parts = [int(p) if p else 0 for p in match.groups()]
    try:
        return dt.datetime(*parts)
    except ValueError:
        return _INVALID


def _parse_birth_date(value: object, today: dt.date) -> object:
    parsed = _parse_datetime(value)
    if parsed is None or parsed is _INVALID:
        return parsed
    day = parsed.date()  # type: ignore[attr-defined]
    if not dt.date(1900, 1, 1) <= day <= today:
        return _INVALID
    return day


def _clip_text(value: str, length: int) -> str:
    return value.strip()[:length]


def _clip(value: object, length: int) -> str:
    text = value.strip() if value.__class__ is str else _cell_text(value).strip()  # type: ignore[union-attr]
    return text[:length]


# --- The head of a file: header, mapping, sample -----------------------------------------------


@dataclass
class _Head:
    header_row: int  # 0: the file has no header row
    headers: list[str]
    mapping: _Mapping
    sample: list[list[str]]
    phone_like_columns: list[int]
    #: The first non-blank rows (row number, cells as text): where the header may be chosen.
    preview: list[tuple[int, list[str]]] = field(default_factory=list)


def _read_head(source: _Source, *, header_row: int | None = None) -> _Head:
    """Find the header among the first non-blank rows and map it; refuse header-only files
    and files without any phone column.

    ``header_row`` (a row number as the file shows it, one of the first non-blank rows; 0
    for "no header: the first row is data") is the user's choice, and replaces the guess."""
    first: list[tuple[int, list[Any]]] = []
    rows = source.rows()
    for number, cells, _bad in rows:
        if _is_blank(cells, source.text_cells):
            continue
        first.append((number, cells))
        if len(first) >= HEADER_SEARCH_ROWS + SAMPLE_ROWS:
            break
    if hasattr(rows, "close"):
        rows.close()
    if not first:
        raise ImportRefused(_("The file is empty."))
    preview = [(number, [_cell_text(c) for c in cells]) for number, cells in first]
    preview = preview[:HEADER_SEARCH_ROWS]
    if header_row is None:
        header_at, mapping = _find_header(first)
    elif header_row == 0:
        header_at, mapping = None, None
    else:
        header_at = next(
            (i for i, (n, _c) in enumerate(first[:HEADER_SEARCH_ROWS]) if n == header_row), None
        )
        if header_at is None:
            raise ValidationFailed(
                _("Row %(row)s is not one of the first rows of the file shown.")
                % {"row": header_row},
                fields={"header_row": [_("choose one of the rows shown")]},
            )
        mapping = _auto_map(first[header_at][1])
    if header_at is None:
        # No header at all: the first row is data.
        width = max(len(cells) for _n, cells in first)
        phone_like = _phone_columns([cells for _n, cells in first])
        if header_row == 0 and not phone_like:
            raise ValidationFailed(
                _("No column of the file holds phone numbers."),
                fields={"header_row": [_("no phone column below this row")]},
            )
        return _Head(
            header_row=0,
            headers=[_("Column %(n)s") % {"n": i + 1} for i in range(width)],
            mapping=_Mapping(columns={}, unknown=list(range(width))),
            sample=[[_cell_text(c) for c in cells] for _n, cells in first[:SAMPLE_ROWS]],
            phone_like_columns=phone_like,
            preview=preview,
        )
    header_number, header_cells = first[header_at]
    data = [cells for _n, cells in first[header_at + 1 :]]
    if not data:
        raise ImportRefused(_("The file holds a header but no data rows; nothing to import."))
    head = _Head(
        header_row=header_number,
        headers=[_cell_text(c).strip() for c in header_cells],
        mapping=mapping,
        sample=[[_cell_text(c) for c in cells] for cells in data[:SAMPLE_ROWS]],
        phone_like_columns=[],
        preview=preview,
    )
    if "mobile" not in mapping.columns.values():
        head.phone_like_columns = _phone_columns(data)
        if not head.phone_like_columns:
            message = _(
                "No phone column: no header names a phone number (手机号码, 电话, mobile, …) "
                "and no column holds phone numbers. Columns found: %(headers)s."
            ) % {"headers": ", ".join(h for h in head.headers if h) or "-"}
            if header_row is not None:
                raise ValidationFailed(
                    message, fields={"header_row": [_("no phone column below this row")]}
                )
            raise ImportRefused(message)
    return head


def _find_header(first: list[tuple[int, list[Any]]]) -> tuple[int | None, _Mapping]:
    """Guess the header among the first non-blank rows: (its position in ``first`` or None
    for a file without a header, its mapping).

    - The first row in which a phone column is named (title rows above it are skipped).
    - A two-level header: group titles in merged cells ("客户信息", "联系方式" over
      手机号码 and 备用电话) above the column names. A group title may name the phone
      column too; the row below is the header when it names a phone column, holds no
      numbers and names more fields.
    - No row names a phone column: of the rows above the first one that holds phone
      numbers, the one with the most filled cells, the first of equals (a title above it
      fills one merged cell; a row of notes below it, "必填", no more cells than it); no row
      above it: the file has no header."""
    header_at = 0
    mapping = None
    for position, (_number, cells) in enumerate(first[:HEADER_SEARCH_ROWS]):
        candidate = _auto_map(cells)
        if "mobile" in candidate.columns.values():
            header_at, mapping = position, candidate
            break
    if mapping is not None:
        if header_at + 1 < min(len(first), HEADER_SEARCH_ROWS):
            below_cells = first[header_at + 1][1]
            below = _auto_map(below_cells)
            if (
                "mobile" in below.columns.values()
                and not _phone_cells(below_cells)
                and _named_fields(below) > _named_fields(mapping)
            ):
                header_at, mapping = header_at + 1, below
        return header_at, mapping
    data_at = next(
        (i for i, (_n, cells) in enumerate(first[:HEADER_SEARCH_ROWS]) if _phone_cells(cells)),
        None,
    )
    if data_at == 0:
        return None, _Mapping(columns={}, unknown=[])
    above = first[: data_at or 1]
    header_at = max(range(len(above)), key=lambda i: (_filled(above[i][1]), -i))
    return header_at, _auto_map(first[header_at][1])


def _filled(cells: list[Any]) -> int:
    return sum(1 for c in cells if c is not None and _cell_text(c).strip())


def _named_fields(mapping: _Mapping) -> int:
    """How many columns a header row maps to a field (not ignored, not unknown)."""
    return sum(1 for field_name in mapping.columns.values() if field_name)


def _phone_cells(cells: list[Any]) -> list[int]:
    return [i for i, c in enumerate(cells) if c not in (None, "") and normalise_phone(c).ok]


def _phone_columns(rows: list[list[Any]]) -> list[int]:
    """Columns in which at least half of the non-empty sample cells are phone numbers."""
    hits: dict[int, int] = {}
    filled: dict[int, int] = {}
    for cells in rows:
        for index, cell in enumerate(cells):
            if cell in (None, "") or (cell.__class__ is str and not cell.strip()):
                continue
            filled[index] = filled.get(index, 0) + 1
            if normalise_phone(cell).ok:
                hits[index] = hits.get(index, 0) + 1
    return [i for i in sorted(hits) if hits[i] * 2 >= filled[i]]


# --- Staging --------------------------------------------------------------------------------

_STAGE_COLUMNS = (
    ("row_no", "integer"),
    ("reason", "text"),
    ("detail", "text"),
    ("raw", "text"),
    ("name", "text"),
    ("e164", "text"),
    ("hash", "text"),
    ("gender", "text"),
    ("birth_date", "date"),
    ("province", "text"),
    ("city", "text"),
    ("id_number", "text"),
    ("grade", "text"),
    ("consent_source", "text"),
    ("consent_at", "timestamptz"),
    ("consent_wording", "text"),
    ("consent_evidence", "text"),
    ("warn_reason", "text"),
    ("warn_detail", "text"),
    ("cid", "bigint"),  # PostgreSQL: the customer id, drawn from the sequence as rows arrive
)
# What the reading loop produces for an accepted row, and for a rejected one.
_ACCEPTED = (
    "row_no", "raw", "name", "e164", "hash", "gender", "birth_date", "province", "city",
    "id_number", "grade", "consent_source", "consent_at", "consent_wording",
    "consent_evidence", "warn_reason", "warn_detail",
)  # fmt: skip
_REJECTED = ("row_no", "reason", "detail", "raw", "hash")  # hash: when the number is valid
_NO_ID = ("cid",)  # PostgreSQL: rejected rows take no customer id from the sequence
_WARN = _ACCEPTED.index("warn_reason")


class _Stage:
    """A temporary table of one run's rows: private to the connection, gone with it.

    Rows arrive ready for the engine: on SQLite dates and times as the text Django stores.
    Only the columns the file fills are written (binding a value costs, even a NULL). On
    PostgreSQL each accepted row gets the customer id it will have as it is copied in (the
    column's default draws it from the customers' sequence, in the order of the file), so
    that the merge needs no join; on SQLite the id is computed in the merge (under the write
    lock) from the staging row id.
    """

    def __init__(self, batch_id: int) -> None:
        self.table = f"leads_import_stage_{batch_id}"
        self.raw_table = f"leads_import_raw_{batch_id}"
        # The file, when the rows it accepts are staged without the row as read.
        self.raw_source: _Source | None = None
        self.postgres = connection.vendor == "postgresql"
        ops = connection.ops
        self.date_value = None if self.postgres else ops.adapt_datefield_value
        self.time_value = None if self.postgres else ops.adapt_datetimefield_value
        self.configure(set(FIELDS))
        # What was staged: the counts need no scan of the table afterwards.
        self.accepted_rows = 0
        self.warned_rows = 0
        self.rejected_rows: Counter[str] = Counter()

    def configure(self, fields: set[str]) -> None:
        """Write only the accepted-row columns that ``fields`` (the mapped ones) can fill."""
        wanted = {"row_no", "raw", "e164", "hash"} | (fields & set(_ACCEPTED))
        if "id_number" in fields:
            wanted |= {"gender", "birth_date"}
        # Warnings: a bad ID number, birth date or consent time, or more than one number in
        # the phone cell (always mapped).
        if fields & {"id_number", "birth_date", "consent_at", "mobile"}:
            wanted |= {"warn_reason", "warn_detail"}
        self.accepted = [name for name in _ACCEPTED if name in wanted]
        indexes = [_ACCEPTED.index(name) for name in self.accepted]
        self.project = None if len(indexes) == len(_ACCEPTED) else itemgetter(*indexes)

    def create(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            if self.postgres:
                cursor.execute(
                    "SELECT pg_get_serial_sequence(%s, 'id')::regclass::oid",
                    [Customer._meta.db_table],
                )
                sequence = int(cursor.fetchone()[0])
                columns = ", ".join(
                    f"{n} {t} DEFAULT nextval({sequence}::regclass)" if n == "cid" else f"{n} {t}"
                    for n, t in _STAGE_COLUMNS
                )
            else:
                columns = ", ".join(
                    f"{n} {'INTEGER' if t in ('integer', 'bigint') else 'TEXT'}"
                    for n, t in _STAGE_COLUMNS
                )
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} ({columns})")
        self.raw = connection.connection
        self.in_atomic_block = connection.in_atomic_block

    def load(self, accepted: list[tuple], rejected: list[tuple]) -> None:
        self.accepted_rows += len(accepted)
        self.warned_rows += sum(1 for row in accepted if row[_WARN] is not None)
        self.rejected_rows.update(row[1] for row in rejected)
        if self.project is not None:
            accepted = list(map(self.project, accepted))
        if self.postgres:
            with self.raw.cursor() as cursor:
                for columns, rows, extra in (
                    (self.accepted, accepted, ()),
                    ((*_REJECTED, *_NO_ID), rejected, (None,)),
                ):
                    if not rows:
                        continue
                    sql = f"COPY {self.table} ({', '.join(columns)}) FROM STDIN"
                    with cursor.copy(sql) as copy:
                        write = copy.write_row
                        for row in rows:
                            write(row + extra if extra else row)
            return
        self._insert([(self.accepted, accepted), (_REJECTED, rejected)])

    def load_frames(self, accepted: Any, rejected: Any) -> None:
        """:meth:`load` for polars frames whose columns are named as the staging table's
        (dates and times already as the text the engine reads)."""
        self.accepted_rows += accepted.height
        if "warn_reason" in self.accepted:
            self.warned_rows += accepted.height - accepted.get_column("warn_reason").null_count()
        self.rejected_rows.update(rejected.get_column("reason").to_list())
        # Columns empty in every row of the chunk are left to their default (NULL): binding
        # a value costs, even a NULL (the row as read, the warning columns, usually).
        accepted = accepted.select(
            c for c in self.accepted if accepted.get_column(c).null_count() < accepted.height
        )
        rejected = rejected.select(_REJECTED)
        if self.postgres:
            rejected = rejected.with_columns(cid=None)
            with self.raw.cursor() as cursor:
                for frame in (accepted, rejected):
                    if frame.height:
                        columns = ", ".join(frame.columns)
                        sql = f"COPY {self.table} ({columns}) FROM STDIN (FORMAT csv)"
                        with cursor.copy(sql) as copy:
                            copy.write(frame.write_csv(include_header=False))
            return
        self._insert(
            [
                (frame.columns, list(zip(*(c.to_list() for c in frame.get_columns()), strict=True)))
                for frame in (accepted, rejected)
            ]
        )

    def _insert(self, batches: list[tuple[Any, list]]) -> None:
        raw = self.raw
        # A deferred transaction that writes only the temporary table takes no lock on the
        # main database: other writers carry on while the file is read.
        own_transaction = not self.in_atomic_block
        if own_transaction:
            raw.execute("BEGIN")
        try:
            for columns, rows in batches:
                if rows:
                    placeholders = ", ".join("?" for _c in columns)
                    raw.executemany(
                        f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES ({placeholders})",
                        rows,
                    )
        except BaseException:
            if own_transaction:
                raw.execute("ROLLBACK")
            raise
        if own_transaction:
            raw.execute("COMMIT")

    def drop(self) -> None:
        if (
            not self.postgres
            and not connection.in_atomic_block
            and not connection.is_in_memory_db()
        ):
            # Closing the connection discards SQLite's temporary database at once; dropping
            # a table of a million rows would first free every page of it.
            connection.close()
            return
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.raw_table}")


def _insert_columns(model, provided: dict[str, tuple[str, list]]) -> tuple[str, str, list]:
    """Column list and SELECT expressions for an ``INSERT … SELECT`` into ``model``: the
    ``provided`` expressions, every other column its model default (so a new field with a
    default does not break the import)."""
    columns: list[str] = []
    expressions: list[str] = []
    params: list = []
    quote = connection.ops.quote_name
    for fld in model._meta.concrete_fields:
        if fld.primary_key and fld.attname not in provided:
            continue
        columns.append(quote(fld.column))
        if fld.attname in provided:
            expression, values = provided[fld.attname]
            expressions.append(expression)
            params.extend(values)
            continue
        if fld.has_default():
            value = fld.get_db_prep_save(fld.get_default(), connection)
        elif fld.null:
            value = None
        else:
            raise RuntimeError(f"{model.__name__}.{fld.name} needs a value in the import")
        expressions.append("%s")
        params.append(value)
    return ", ".join(columns), ", ".join(expressions), params


def _raw_json(raw: str | None) -> str:
    return json.dumps((raw or "").split(RAW_SEPARATOR), ensure_ascii=False)


# --- Locks: one run per batch; a dead run's lock dies with its process -------------------------

_LOCK_CLASS = 0x1EAD


@contextlib.contextmanager
def _run_lock(batch_id: int) -> Iterator[bool]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, batch_id])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with contextlib.suppress(Exception), connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, batch_id])
        return
    path = _lock_path(batch_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            acquired = True
        except BlockingIOError:
            acquired = False
        yield acquired
    finally:
        os.close(fd)  # releases the lock


def _lock_path(batch_id: int) -> Path:
    name = str(connection.settings_dict.get("NAME") or "")
    if "memory" in name or not name:
        name = f"memory-{os.getpid()}"  # an in-memory database is private to this process
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    folder = Path(settings.DATA_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"leads-batch-{digest}-{batch_id}.lock"


def batch_is_stale(batch: LeadBatch) -> bool:
    """True for a batch left in status ``running`` by a process that died: run it again.

    (Within the process that runs the batch on PostgreSQL the advisory lock is re-entrant, so
    ask from another process.)"""
    batch.refresh_from_db(fields=["status"])
    if batch.status != BatchStatus.RUNNING:
        return False
    with _run_lock(batch.pk) as acquired:
        return acquired


def batch_is_overdue(batch: LeadBatch, *, now: dt.datetime | None = None) -> bool:
    """True for a batch queued (status ``pending``) longer than :func:`import_queue_timeout`
    ago that no worker has started (a worker starting it sets ``running``): the worker may be
    stopped, or its queue lost. Its import may be queued again (:func:`batch_resume`)."""
    if batch.status != BatchStatus.PENDING or batch.updated_at is None:
        return False
    return batch.updated_at <= (now or timezone.now()) - import_queue_timeout()


def batches_stale_mark(batches: Iterable[LeadBatch]) -> list[LeadBatch]:
    """``batches`` as a list, each with ``stale`` set: True for one left ``running`` by a run
    that died (:func:`batch_is_stale`, asked only of the batches ``running``: one lock probe
    and one query each). Pages show such a batch as interrupted, with what applies (discard
    or resume), instead of as being imported. ``overdue``: waiting for a worker too long
    (:func:`batch_is_overdue`); ``resumable``: either, the import may be queued again
    (:func:`batch_resume`); ``state``: the word the API reports (``interrupted``,
    ``overdue``, else the status)."""
    marked = list(batches)
    now = timezone.now()
    for batch in marked:
        batch.stale = batch.status == BatchStatus.RUNNING and batch_is_stale(batch)
        batch.overdue = batch_is_overdue(batch, now=now)
        batch.resumable = batch.stale or batch.overdue
        batch.state = (
            "interrupted" if batch.stale else "overdue" if batch.overdue else str(batch.status)
        )
    return marked


# --- Services -------------------------------------------------------------------------------


def _check_actor(actor) -> None:
    if actor is not None and not isinstance(actor, str) and not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("Only the center manager or the data officer may import leads"))


def _store_file(file: str | Path | IO[bytes], file_name: str) -> tuple[Path, str, int, str]:
    """Copy the upload into MEDIA_ROOT/imports/, hashing it; refuse it past the size limit
    without reading it all. Returns (path, sha256, size, original name)."""
    limit = import_max_bytes()
    if isinstance(file, str | Path):
        source_path = Path(file)
        if not source_path.is_file():
            raise ImportRefused(_("No such file: %(name)s") % {"name": source_path.name})
        name = file_name or source_path.name
        size = source_path.stat().st_size
        if size > limit:
            raise ImportRefused(_too_big(size, limit))
        handle: IO[bytes] = open(source_path, "rb")  # noqa: SIM115 - closed below
    else:
        name = file_name or Path(getattr(file, "name", "") or "upload").name
        size = getattr(file, "size", None) or 0
        if size > limit:
            raise ImportRefused(_too_big(size, limit))
        handle = file
        with contextlib.suppress(AttributeError, OSError):
            handle.seek(0)
    folder = Path(settings.MEDIA_ROOT) / "imports" / timezone.localdate().strftime("%Y/%m")
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.\-]+", "_", name)[-80:] or "upload"
    target = folder / f"{uuid.uuid4().hex[:12]}-{safe}"
    digest = hashlib.sha256()
    written = 0
    try:
        with open(target, "wb") as out:
            chunks = (
                handle.chunks()
                if hasattr(handle, "chunks")
                else iter(lambda: handle.read(1 << 20), b"")
            )
            for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise ImportRefused(_too_big(written, limit))
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        if isinstance(file, str | Path):
            handle.close()
    return target, digest.hexdigest(), written, name


def _too_big(size: int, limit: int) -> str:
    return _(
        "The file is too large (%(size)s MB; the limit is %(limit)s MB). "
        "Split it into smaller files."
    ) % {"size": _mb(size), "limit": _mb(limit)}


def _refuse_inactive(channel: Channel) -> None:
    """A channel switched off by the data officer takes no new batch (the upload page hides it;
    the command and the API say so)."""
    if not channel.is_active:
        raise ValidationFailed(
            _(
                "Channel '%(code)s' is inactive: reactivate it on the channels page, or import "
                "into another channel."
            )
            % {"code": channel.code},
            fields={"channel": [_("inactive channel")]},
        )


def _channel_for(code: str, *, create: bool) -> tuple[Channel, bool]:
    code = (code or "").strip()
    channel = Channel.objects.filter(code=code).first()
    if channel is not None:
        _refuse_inactive(channel)
        return channel, False
    if not create:
        active = Channel.objects.filter(is_active=True).order_by("code")
        known = ", ".join(active.values_list("code", flat=True)[:20]) or "-"
        raise ValidationFailed(
            _("Unknown channel '%(code)s' (known: %(known)s).") % {"code": code, "known": known},
            fields={"channel": [_("unknown channel")]},
        )
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,40}", code):
        raise ValidationFailed(
            _("A channel code holds 1 to 40 letters, digits, - or _."),
            fields={"channel": [_("invalid code")]},
        )
    return Channel.objects.create(code=code, name=code), True


def batch_create(
    *,
    file: str | Path | IO[bytes],
    name: str,
    channel_code: str,
    actor=None,
    file_name: str = "",
    cost: Decimal | str | int = Decimal("0"),
    default_grade: str = LeadGrade.C,
    required_grade: int = 1,
    create_channel: bool = False,
    allow_repeat: bool = False,
) -> LeadBatch:
    """Store an uploaded file as a new batch (status ``pending``, or ``mapping`` when a column
    needs the user). Refuses, with nothing stored, what cannot be imported.

    ``file`` is a path or a file object (a Django upload). ``actor`` None is the system (CLI).
    """
    _check_actor(actor)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("A batch needs a name of at most 100 characters")]
    elif LeadBatch.objects.filter(name=name).exists():
        errors["name"] = [_("A batch with this name exists already")]
    try:
        cost = Decimal(str(cost))
        if not cost.is_finite() or cost < 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["cost"] = [_("The cost is an amount of 0 or more")]
    if default_grade not in LeadGrade.values:
        errors["default_grade"] = [_("Grade A, B, C or D")]
    if not isinstance(required_grade, int) or not 1 <= required_grade <= 4:
        errors["required_grade"] = [_("A sales-capability grade from 1 to 4")]
    if errors:
        raise ValidationFailed(_("The batch cannot be created"), fields=errors)
    existing = Channel.objects.filter(code=(channel_code or "").strip()).first()
    if existing is not None:
        _refuse_inactive(existing)  # before the file is stored
    elif not create_channel:
        _channel_for(channel_code, create=False)  # raises with the list of known channels
    path, sha256, size, original = _store_file(file, file_name)
    try:
        if not allow_repeat:
            earlier = (
                LeadBatch.objects.filter(file_sha256=sha256)
                .exclude(status=BatchStatus.FAILED)
                .order_by("id")
                .first()
            )
            if earlier is not None:
                message = _(
                    "This file was uploaded before as batch #%(id)s “%(name)s” "
                    "(%(status)s, %(imported)s leads imported); it is not imported again."
                ) % {
                    "id": earlier.pk,
                    "name": earlier.name,
                    "status": earlier.get_status_display(),
                    "imported": earlier.imported,
                }
                if batch_discardable(earlier):
                    message += " " + _(
                        "That batch imported nothing: continue it, or discard it on its page "
                        "and upload the file again."
                    )
                raise FileAlreadyImported(message, details={"batch_id": earlier.pk})
        source = _open_source(path)
        head = _read_head(source)
        with transaction.atomic():
            channel, created = _channel_for(channel_code, create=create_channel)
            complete = head.header_row > 0 and head.mapping.complete
            info: dict[str, Any] = {
                **source.describe(),
                "header_row": head.header_row,
                "headers": head.headers,
                "columns": {str(i): f for i, f in sorted(head.mapping.columns.items())},
                "unknown": head.mapping.unknown,
                "channel_created": created,
            }
            if not complete:
                # Kept until the mapping is saved, to be shown: numbers masked at rest.
                info.update(_mapping_aids(head))
            batch = LeadBatch.objects.create(
                name=name,
                channel=channel,
                file_name=original[:255],
                file_sha256=sha256,
                stored_file=str(path.relative_to(settings.MEDIA_ROOT)),
                cost=cost,
                uploader=user_or_none(actor),
                status=BatchStatus.PENDING if complete else BatchStatus.MAPPING,
                mapping=info,
                default_grade=default_grade,
                required_grade=required_grade,
                rows=0,
            )
            audit_record(
                actor=actor,
                action="leads.batch_create",
                instance=batch,
                after={
                    "file": batch.file_name,
                    "sha256": sha256,
                    "bytes": size,
                    "channel": channel.code,
                    "channel_created": created,
                    "status": batch.status,
                },
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return batch


def batch_import_with_mapping(
    *, batch: LeadBatch, mapping: dict[str | int, str], actor=None, run: bool = True
) -> LeadBatch:
    """Apply the user's column mapping (column index or header text → field, ``""`` to
    ignore a column) and, with ``run``, import now. ``run=False`` leaves the batch
    ``pending`` for the caller to enqueue ``leads_batch_import_task``."""
    _check_actor(actor)
    batch = LeadBatch.objects.get(pk=batch.pk)
    if batch.status not in (BatchStatus.MAPPING, BatchStatus.PENDING, BatchStatus.FAILED):
        raise InvalidState(
            _("This batch is %(status)s; its columns cannot be changed")
            % {"status": batch.get_status_display()}
        )
    info = dict(batch.mapping or {})
    headers: list[str] = info.get("headers", [])
    columns: dict[int, str] = {}
    errors: list[str] = []
    for key, target in mapping.items():
        index = _column_index(key, headers)
        target = (target or "").strip()
        if target in ("ignore", "-"):
            target = IGNORE
        if index is None:
            errors.append(_("No column “%(key)s”") % {"key": key})
        elif target and target not in FIELDS:
            errors.append(_("Unknown field “%(field)s”") % {"field": target})
        else:
            columns[index] = target
    # Columns the user did not mention keep what was recognised; unknown ones are ignored.
    merged = {int(k): v for k, v in (info.get("columns") or {}).items()}
    merged.update(columns)
    for index in range(len(headers)):
        merged.setdefault(index, IGNORE)
    used = [f for f in merged.values() if f]
    if used.count("mobile") != 1:
        errors.append(_("Choose exactly one phone column"))
    twice = sorted({f for f in used if used.count(f) > 1 and f != "mobile"})
    if twice:
        errors.append(_("Each field once only: %(fields)s") % {"fields": ", ".join(twice)})
    if errors:
        raise ValidationFailed(_("The column mapping is incomplete"), fields={"mapping": errors})
    with transaction.atomic():
        info["columns"] = {str(i): f for i, f in sorted(merged.items())}
        info["unknown"] = []
        info.pop("sample", None)
        info.pop("preview", None)
        info["mapped_by_user"] = True
        LeadBatch.objects.filter(pk=batch.pk).update(
            mapping=info, status=BatchStatus.PENDING, error="", updated_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="leads.batch_mapping",
            instance=batch,
            after={"columns": info["columns"]},
        )
    batch.refresh_from_db()
    if run:
        return batch_import_run(batch_id=batch.pk)
    return batch


def _mapping_aids(head: _Head) -> dict[str, Any]:
    """What the mapping step shows: sample rows below the header, the first rows of the file
    (to choose the header row from), the columns that look like phone numbers. Numbers
    masked: this is kept in the database until the mapping is saved."""
    return {
        "sample": [[mask_numbers_in(c) for c in row] for row in head.sample],
        "preview": [[n, [mask_numbers_in(c) for c in cells]] for n, cells in head.preview],
        "phone_like_columns": head.phone_like_columns,
    }


#: Statuses in which a batch's header row and columns may still be chosen.
MAPPABLE = (BatchStatus.MAPPING, BatchStatus.FAILED)


def batch_preview(batch: LeadBatch) -> list[tuple[int, list[str]]]:
    """The first non-blank rows of a batch's file (row number, cells; numbers masked), to
    choose the header row from: as kept since the upload, else read again from the stored
    file (a batch whose mapping was saved once); empty when the file is gone."""
    kept = (batch.mapping or {}).get("preview")
    if kept:
        return [(int(n), [str(c) for c in cells]) for n, cells in kept]
    path = Path(settings.MEDIA_ROOT) / batch.stored_file
    if not batch.stored_file or not path.is_file():
        return []
    try:
        head = _read_head(_open_source(path))
    except DomainError:
        return []
    return [(n, [mask_numbers_in(c) for c in cells]) for n, cells in head.preview]


def batch_header_set(*, batch: LeadBatch, header_row: int, actor=None) -> LeadBatch:
    """Take row ``header_row`` of the file (as the file numbers it; one of the first
    non-blank rows, see :func:`batch_preview`) as the header, ``0`` for a file without one:
    the columns are those of that row, recognised again, and the data starts on the row
    after it. The batch waits in status ``mapping`` for its columns to be confirmed
    (:func:`batch_import_with_mapping`)."""
    _check_actor(actor)
    batch = LeadBatch.objects.filter(pk=batch.pk).first()
    if batch is None:
        raise NotFound(_("No such batch"))
    if batch.status not in MAPPABLE:
        raise InvalidState(
            _("This batch is %(status)s; its header row cannot be changed")
            % {"status": batch.get_status_display()}
        )
    if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 0:
        raise ValidationFailed(
            _("The header row is a row number of the file"),
            fields={"header_row": [_("a row number, or 0 for no header row")]},
        )
    path = Path(settings.MEDIA_ROOT) / batch.stored_file
    if not batch.stored_file or not path.is_file():
        raise InvalidState(_("The uploaded file of this batch is missing."))
    source = _open_source(path)
    head = _read_head(source, header_row=header_row)
    with transaction.atomic():
        locked = LeadBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status not in MAPPABLE:
            raise InvalidState(
                _("This batch is %(status)s; its header row cannot be changed")
                % {"status": locked.get_status_display()}
            )
        info = dict(locked.mapping or {})
        before = {"header_row": info.get("header_row"), "headers": info.get("headers", [])}
        info.update(
            {
                **source.describe(),
                "header_row": head.header_row,
                "headers": head.headers,
                "columns": {str(i): f for i, f in sorted(head.mapping.columns.items())},
                "unknown": head.mapping.unknown,
                "header_chosen_by_user": True,
                **_mapping_aids(head),
            }
        )
        info.pop("mapped_by_user", None)
        LeadBatch.objects.filter(pk=batch.pk).update(
            mapping=info, status=BatchStatus.MAPPING, error="", updated_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="leads.batch_header",
            instance=locked,
            before=before,
            after={"header_row": head.header_row, "headers": head.headers},
        )
    batch.refresh_from_db()
    return batch


#: Statuses of a batch that imported nothing and may be discarded. A batch in status
#: ``running`` whose run died (:func:`batch_is_stale`) and that imported nothing may be
#: discarded too: :func:`batch_discardable`.
DISCARDABLE = (BatchStatus.MAPPING, BatchStatus.PENDING, BatchStatus.FAILED)


def _resume_message(batch_id: int, imported: int) -> str:
    return _(
        "Batch #%(id)s was interrupted after %(n)s leads had been imported; it cannot be "
        "discarded. Resume it on its page (Resume the import), or on the server: "
        "telesales leads-import --resume %(id)s"
    ) % {"id": batch_id, "n": imported}


def batch_discardable(batch: LeadBatch) -> bool:
    """Whether pages may offer to discard ``batch``: a status of :data:`DISCARDABLE`, or a
    run that died (its lock is free) before it imported anything. :func:`batch_discard`
    checks again under the lock."""
    if batch.status in DISCARDABLE:
        return True
    return (
        batch.status == BatchStatus.RUNNING
        and not batch.imported
        and not batch.leads.exists()
        and batch_is_stale(batch)
    )


def batch_discard_refusal(batch: LeadBatch) -> str:
    """Why a page cannot offer to discard ``batch`` (empty when it can): a run that died
    after importing leads must be resumed."""
    if batch_discardable(batch):
        return ""
    if batch.status == BatchStatus.RUNNING and batch_is_stale(batch):
        return _resume_message(batch.pk, max(batch.leads.count(), batch.imported))
    return _("A batch being imported or imported cannot be discarded.")


def batch_discard(*, batch: LeadBatch, actor=None) -> None:
    """Throw away a batch that imported nothing (waiting for its mapping, waiting to run,
    failed, or left ``running`` by a run that died): the batch, its stored upload, its lock
    file and any staging table of this connection go; the same file may then be uploaded
    again. A batch being imported (its run lock is held) or that imported leads is refused:
    nothing imported is ever touched; an interrupted run that imported leads must be
    resumed (``telesales leads-import --resume ID``)."""
    _check_actor(actor)
    batch_id = batch.pk
    with _run_lock(batch_id) as acquired:
        if not acquired:
            raise ImportInProgress(
                _("Batch #%(id)s is being imported; it cannot be discarded") % {"id": batch_id}
            )
        with transaction.atomic():
            locked = LeadBatch.objects.select_for_update().filter(pk=batch_id).first()
            if locked is None:
                raise NotFound(_("No such batch"))
            imported = locked.leads.count()
            if locked.status == BatchStatus.RUNNING and (imported or locked.imported):
                # Holding the run lock, a batch still ``running`` was left by a run that died.
                raise InvalidState(_resume_message(batch_id, max(imported, locked.imported)))
            abandoned = locked.status == BatchStatus.RUNNING
            if (locked.status not in DISCARDABLE and not abandoned) or imported or locked.imported:
                raise InvalidState(
                    _(
                        "Batch #%(id)s “%(name)s” is %(status)s with %(n)s leads imported; "
                        "an imported batch cannot be discarded."
                    )
                    % {
                        "id": batch_id,
                        "name": locked.name,
                        "status": locked.get_status_display(),
                        "n": max(imported, locked.imported),
                    }
                )
            stored = locked.stored_file
            audit_record(
                actor=actor,
                action="leads.batch_discard",
                instance=locked,
                before={
                    "name": locked.name,
                    "file": locked.file_name,
                    "sha256": locked.file_sha256,
                    "channel": locked.channel.code,
                    "status": locked.status,
                    "uploader": locked.uploader.get_username() if locked.uploader_id else "",
                    **({"abandoned_run": True} if abandoned else {}),
                },
            )
            locked.rejections.all().delete()
            locked.delete()
            if stored:
                path = Path(settings.MEDIA_ROOT) / stored
                transaction.on_commit(lambda: path.unlink(missing_ok=True))
    stage = _Stage(batch_id)
    with contextlib.suppress(Exception), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage.table}")
        cursor.execute(f"DROP TABLE IF EXISTS {stage.raw_table}")
    if connection.vendor != "postgresql":
        _lock_path(batch_id).unlink(missing_ok=True)


def batch_import_queue(batch_id: int) -> None:
    """Queue the import of a batch once the current transaction commits (the worker reads
    the batch row): the Celery task ``leads_batch_import_task``, run by the worker the
    settings name (the embedded one in the data directory without a broker; in-process in
    tests). The upload, the mapping step and :func:`batch_resume` queue it this way."""
    from telesales.leads.tasks import leads_batch_import_task

    transaction.on_commit(lambda: leads_batch_import_task.delay(batch_id))


def _resume_refusal(batch: LeadBatch, *, lock_free: bool) -> DomainError | None:
    """Why the import of ``batch`` cannot be queued again (None when it can): only a run
    that died (``running``, its lock free) or a batch waiting for a worker too long may."""
    values = {"id": batch.pk, "status": batch.get_status_display()}
    if batch.status == BatchStatus.RUNNING:
        if lock_free:
            return None
        return ImportInProgress(
            _("Batch #%(id)s is being imported; there is nothing to resume.") % values
        )
    if batch.status == BatchStatus.PENDING:
        if batch_is_overdue(batch):
            return None
        minutes = int(import_queue_timeout().total_seconds() // 60)
        return ImportQueued(
            _(
                "The import of batch #%(id)s is queued already (since %(time)s); a worker "
                "starts it shortly. If none has started it after %(minutes)s minutes, it can "
                "be queued again."
            )
            % {
                **values,
                "time": timezone.localtime(batch.updated_at).strftime("%H:%M"),
                "minutes": minutes,
            }
        )
    if batch.status == BatchStatus.MAPPING:
        return NeedsMapping(
            _("Batch #%(id)s needs a column mapping before it can be imported") % values
        )
    if batch.status == BatchStatus.FAILED:
        return InvalidState(
            _(
                "The import of batch #%(id)s failed; it is not resumed. Correct its columns "
                "on the mapping page, or discard it and upload the file again."
            )
            % values
        )
    return InvalidState(_("Batch #%(id)s is %(status)s; there is nothing to resume.") % values)


def batch_resume_refusal(batch: LeadBatch) -> str:
    """Why a page cannot offer to resume the import of ``batch`` (empty when it can)."""
    lock_free = batch.status == BatchStatus.RUNNING and batch_is_stale(batch)
    refusal = _resume_refusal(batch, lock_free=lock_free)
    return refusal.message if refusal is not None else ""


def batch_resume(*, batch: LeadBatch, actor=None) -> LeadBatch:
    """Queue the import of ``batch`` again (继续导入), as the upload queues it
    (:func:`batch_import_queue`): a batch left ``running`` by a run that died (its lock is
    free, :func:`batch_is_stale`), or one waiting for a worker too long
    (:func:`batch_is_overdue`). The run imports the file again from the start, exactly as
    ``telesales leads-import --resume ID`` does: nothing of a run that died was committed
    (:func:`batch_import_run`), so every row is imported once. The batch waits in status
    ``pending`` until a worker starts it; asking again meanwhile (a double click) is
    refused with :class:`ImportQueued` and changes nothing, as is a batch being imported,
    done, failed, waiting for its mapping or discarded. Audited (``leads.batch_resume``)."""
    _check_actor(actor)
    batch_id = batch.pk
    with transaction.atomic():
        locked = LeadBatch.objects.select_for_update().filter(pk=batch_id).first()
        if locked is None:
            raise NotFound(_("No such batch"))
        # Under the run lock: no run can start (or be running) while the batch is checked
        # and queued; a run that starts afterwards reads the batch as queued here.
        with _run_lock(batch_id) as lock_free:
            refusal = _resume_refusal(locked, lock_free=lock_free)
            if refusal is not None:
                raise refusal
            interrupted = locked.status == BatchStatus.RUNNING
            now = timezone.now()
            info = dict(locked.mapping or {})
            user = user_or_none(actor)
            info["resume"] = {
                "from": "interrupted" if interrupted else "overdue",
                "at": now.isoformat(),
                "by": user.get_username() if user else str(actor or "system"),
            }
            if interrupted:
                info["interrupted_run"] = True  # the next run is a resumed one
            LeadBatch.objects.filter(pk=batch_id).update(
                status=BatchStatus.PENDING, mapping=info, error="", updated_at=now
            )
            audit_record(
                actor=actor,
                action="leads.batch_resume",
                instance=locked,
                before={
                    "status": "interrupted" if interrupted else "overdue",
                    "processed": locked.processed,
                    "queued_since": None if interrupted else locked.updated_at.isoformat(),
                    "leads": locked.leads.count(),
                },
                after={"status": BatchStatus.PENDING.value},
            )
        batch_import_queue(batch_id)
    locked.refresh_from_db()
    return locked


def _column_index(key: str | int, headers: list[str]) -> int | None:
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        index = int(key)
        return index if 0 <= index < max(len(headers), 1) else None
    wanted = normalise_header(key)
    for index, header in enumerate(headers):
        if header == key or normalise_header(header) == wanted:
            return index
    return None


ProgressCallback = Callable[[int, int], None]


def batch_import_run(*, batch_id: int, progress: ProgressCallback | None = None) -> LeadBatch:
    """Import a pending batch (the worker body). Returns the batch, done.

    A finished batch is returned as it is. A batch left ``running`` by a dead process is run
    again from the start (nothing of it was committed). A file-level problem marks the batch
    ``failed`` with the message and raises :class:`ImportRefused`.
    """
    batch = LeadBatch.objects.select_related("channel").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No such batch"))
    if batch.status == BatchStatus.DONE:
        return batch
    if batch.status == BatchStatus.MAPPING:
        raise NeedsMapping(
            _("Batch #%(id)s needs a column mapping before it can be imported") % {"id": batch.pk}
        )
    with _run_lock(batch.pk) as acquired:
        if not acquired:
            raise ImportInProgress(
                _("Batch #%(id)s is being imported by another process") % {"id": batch.pk}
            )
        batch = LeadBatch.objects.select_related("channel").filter(pk=batch_id).first()
        if batch is None:  # discarded while this run waited for the lock
            raise NotFound(_("No such batch"))
        if batch.status == BatchStatus.DONE:
            return batch
        if batch.status == BatchStatus.MAPPING:
            raise NeedsMapping(
                _("Batch #%(id)s needs a column mapping before it can be imported")
                % {"id": batch.pk}
            )
        # Run again after a run that died: found ``running``, or queued again by
        # :func:`batch_resume` (which leaves it ``pending``).
        resumed = batch.status == BatchStatus.RUNNING or bool(
            (batch.mapping or {}).get("interrupted_run")
        )
        started = timezone.now()
        LeadBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.RUNNING,
            started_at=started,
            finished_at=None,
            processed=0,
            rows=0,
            imported=0,
            duplicate=0,
            invalid=0,
            dnc_blocked=0,
            error="",
            updated_at=started,
        )
        stage = _Stage(batch.pk)
        try:
            stage.create()
            clock = time.perf_counter()
            with without_cyclic_gc():
                summary = _stage_rows(batch, stage, progress)
            summary.read_seconds = time.perf_counter() - clock
            _merge(batch, stage, summary, resumed=resumed)
        except DomainError as exc:
            _mark_failed(batch.pk, exc.message)
            raise
        except Exception as exc:
            _mark_failed(
                batch.pk, _("The import stopped: %(problem)s") % {"problem": type(exc).__name__}
            )
            raise
        finally:
            stage.drop()
    if connection.vendor != "postgresql":
        # A finished batch needs its lock file no more (a late runner finds it done).
        _lock_path(batch.pk).unlink(missing_ok=True)
    batch.refresh_from_db()
    return batch


def _mark_failed(batch_id: int, message: str) -> None:
    with contextlib.suppress(Exception):
        LeadBatch.objects.filter(pk=batch_id).update(
            status=BatchStatus.FAILED,
            error=message[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )


def _fault_point(name: str) -> None:
    """Test hook for the killed-process test: with ``TELESALES_IMPORT_PAUSE_AT=name`` the
    import announces the point on stderr and waits there to be killed."""
    if os.environ.get("TELESALES_IMPORT_PAUSE_AT") == name:
        sys.stderr.write(f"telesales-import-paused-at {name}\n")
        sys.stderr.flush()
        time.sleep(600)


@dataclass
class _Summary:
    rows: int = 0
    blank: int = 0
    skipped_above_header: int = 0
    read_seconds: float = 0.0
    reader: str = "rows"  # or "columns": how the file was read (see _ColumnReader)
    staging_seconds: float = 0.0  # of read_seconds, writing the staging table (columns)
    dnc_loaded_at: dt.datetime = field(default_factory=timezone.now)
    source: dict[str, Any] = field(default_factory=dict)


def _stage_rows(batch: LeadBatch, stage: _Stage, progress: ProgressCallback | None) -> _Summary:
    """Read, check and stage every row; commit the progress after every chunk.

    This loop runs once per row of files of a million rows: it avoids function calls where
    it can and caches the parsing of values that repeat (gender, grade, dates)."""
    info = batch.mapping or {}
    path = Path(settings.MEDIA_ROOT) / batch.stored_file
    if not batch.stored_file or not path.is_file():
        raise ImportRefused(_("The uploaded file of this batch is missing."))
    source = _open_source(path)
    header_row = int(info.get("header_row", 1))
    columns = {int(k): v for k, v in (info.get("columns") or {}).items()}
    if list(columns.values()).count("mobile") != 1:
        raise NeedsMapping(_("Batch #%(id)s has no phone column mapped") % {"id": batch.pk})
    headers = info.get("headers") or []
    width = len(headers) if header_row else 0
    # A header may end in empty cells: rows may stop after the last named column.
    named_width = max((i + 1 for i, h in enumerate(headers) if str(h).strip()), default=0)
    need = max(columns) + 1
    estimate = max(source.estimate_rows() - header_row, 0)
    LeadBatch.objects.filter(pk=batch.pk).update(rows=estimate, updated_at=timezone.now())

    def col(name: str) -> int | None:
        return next((i for i, f in columns.items() if f == name), None)

    mi: int = col("mobile")  # type: ignore[assignment]
    ni, gi, bi, ii = col("name"), col("gender"), col("birth_date"), col("id_number")
    pi, ci, gri = col("province"), col("city"), col("grade")
    cai, csi, cwi, cei = (
        col("consent_at"),
        col("consent_source"),
        col("consent_wording"),
        col("consent_evidence"),
    )
    default_grade = batch.default_grade
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    text_cells = source.text_cells
    clip = _clip_text if text_cells else _clip
    pad: Any = "" if text_cells else None
    date_value, time_value = stage.date_value, stage.time_value
    normalise = normalise_phone
    hash_of = phone_hash
    join = RAW_SEPARATOR.join
    blank_chars = RAW_SEPARATOR + " \t\r\n\xa0\u3000"
    seen: dict[str, int] = {}
    gender_cache: dict[Any, str] = {}
    grade_cache: dict[Any, str] = {}
    birth_cache: dict[Any, tuple[Any, Any]] = {}
    bad_row, bad_encoding = RejectReason.BAD_ROW.value, RejectReason.BAD_ENCODING.value
    missing, invalid = RejectReason.MISSING_PHONE.value, RejectReason.INVALID_PHONE.value
    dup_in_file = RejectReason.DUPLICATE_IN_FILE.value
    invalid_value = RejectReason.INVALID_VALUE.value
    invalid_id = RejectReason.INVALID_ID_NUMBER.value
    summary = _Summary()
    blocked = _active_dnc_hashes(summary.dnc_loaded_at)
    dnc = RejectReason.DNC.value
    stage.configure(set(columns.values()))
    if _is_plain_text(source):
        reader = _ColumnReader(
            stage=stage,
            delimiter=source.delimiter,
            columns=columns,
            width=width,
            named_width=named_width,
            default_grade=default_grade,
            blocked=blocked,
            today=today,
        )
        summary.reader = "columns"
        stage.raw_source = source
        consumed, rows, blank = _stage_plain(
            batch,
            stage,
            progress,
            source,
            summary,
            reader,
            header_row=header_row,
            estimate=estimate,
        )
        return _staged(batch, summary, source, consumed, rows, blank, estimate, progress)
    chunk: list[tuple] = []
    append = chunk.append
    rejected: list[tuple] = []
    reject = rejected.append
    consumed = rows = blank = flushed = 0
    first_chunk = True
    for row_no, cells, undecodable in source.rows():
        if row_no <= header_row:
            if row_no < header_row and not _is_blank(cells, text_cells):
                summary.skipped_above_header += 1
            continue
        consumed += 1
        if consumed - flushed > CHUNK_ROWS:
            stage.load(chunk, rejected)
            chunk.clear()
            rejected.clear()
            flushed = consumed - 1
            if not estimate and source.total_rows:
                estimate = max(source.total_rows - header_row, 0)
            _report_progress(batch.pk, flushed, estimate, progress)
            if first_chunk:
                first_chunk = False
                _fault_point("staged-chunk")
        if text_cells:
            raw = join(cells)
            if not raw.strip(blank_chars):
                blank += 1
                continue
        else:
            if _is_blank(cells, False):
                blank += 1
                continue
            raw = _raw_text(cells, False)
        rows += 1
        if undecodable:
            reject((row_no, bad_encoding, "", raw, None))
            continue
        n = len(cells)
        if n != width and width:
            if n > width and _is_blank(cells[width:], text_cells):
                pass  # empty trailing cells
            elif text_cells and not named_width <= n < width:
                reject((row_no, bad_row, f"{n}/{named_width}", raw, None))
                continue
        if n < need:
            cells = [*cells, *([pad] * (need - n))]
        result = normalise(cells[mi])
        error = result.error
        if error is not None:
            if error == "empty":
                reject((row_no, missing, "", raw, None))
            else:
                reject((row_no, invalid, error, raw, None))
            continue
        e164: str = result.e164  # type: ignore[assignment]
        first = seen.get(e164)
        if first is not None:
            reject((row_no, dup_in_file, str(first), raw, hash_of(e164)))
            continue
        seen[e164] = row_no
        digest = hash_of(e164)
        if digest in blocked:
            reject((row_no, dnc, "", raw, digest))
            continue
        warn_reason = warn_detail = None
        if gi is not None:
            value = cells[gi]
            gender = gender_cache.get(value)
            if gender is None:
                gender = gender_cache[value] = _parse_gender(value)
        else:
            gender = ""
        birth = birth_value = None
        if bi is not None:
            value = cells[bi]
            cached = birth_cache.get(value)
            if cached is None:
                parsed = _parse_birth_date(value, today)
                stored = parsed if parsed is not _INVALID and parsed is not None else None
                cached = (parsed, date_value(stored) if date_value and stored else stored)
                if len(birth_cache) < 100_000:
                    birth_cache[value] = cached
            birth, birth_value = cached
            if birth is _INVALID:
                birth = birth_value = None
                warn_reason, warn_detail = invalid_value, "birth_date"
        id_number = ""
        if ii is not None:
            value = cells[ii]
            if (
                value is not None
                and value != ""
                and not (value.__class__ is str and not value.strip())
            ):
                checked = validate_id_number(value, today=today)
                if checked.ok:
                    id_number = checked.value or ""
                    gender = gender or checked.gender or ""
                    if birth is None and checked.birth_date:
                        birth = checked.birth_date
                        birth_value = date_value(birth) if date_value else birth
                else:
                    warn_reason = invalid_id
                    warn_detail = f"id_number:{checked.error}" + (
                        f"; {warn_detail}" if warn_detail else ""
                    )
        if gri is not None:
            value = cells[gri]
            grade = grade_cache.get(value)
            if grade is None:
                grade = grade_cache[value] = _parse_grade(value) or default_grade
        else:
            grade = default_grade
        consent_at = None
        if cai is not None:
            parsed = _parse_datetime(cells[cai])
            if parsed is _INVALID:
                warn_reason = warn_reason or invalid_value
                warn_detail = f"{warn_detail}; consent_at" if warn_detail else "consent_at"
            elif parsed is not None:
                consent_at = timezone.make_aware(parsed, tz)  # type: ignore[arg-type]
                if time_value:
                    consent_at = time_value(consent_at)
        if result.other_numbers:
            # "13800138022/13800139022": the first is the lead's; the others are said, not
            # dropped silently (QA).
            warn_reason = warn_reason or invalid_value
            warn_detail = f"{warn_detail}; mobile:other" if warn_detail else "mobile:other"
        append(
            (
                row_no,
                raw,
                clip(cells[ni], 50) if ni is not None else "",
                e164,
                digest,
                gender,
                birth_value,
                clip(cells[pi], 20) if pi is not None else "",
                clip(cells[ci], 30) if ci is not None else "",
                id_number,
                grade,
                (clip(cells[csi], 100) or None) if csi is not None else None,
                consent_at,
                (clip(cells[cwi], 5000) or None) if cwi is not None else None,
                (clip(cells[cei], 300) or None) if cei is not None else None,
                warn_reason,
                warn_detail,
            )
        )
    stage.load(chunk, rejected)
    return _staged(batch, summary, source, consumed, rows, blank, estimate, progress)


def _staged(
    batch: LeadBatch,
    summary: _Summary,
    source: _Source,
    consumed: int,
    rows: int,
    blank: int,
    estimate: int,
    progress: ProgressCallback | None,
) -> _Summary:
    summary.rows, summary.blank = rows, blank
    if rows == 0:
        raise ImportRefused(_("The file holds a header but no data rows; nothing to import."))
    summary.source = source.describe()
    _report_progress(batch.pk, consumed, max(estimate, consumed), progress)
    return summary


# --- Column-wise reading of plain CSV files -----------------------------------------------------
#
# Most files are plain: one row per line, cells between delimiters, no quoting. Those are read
# a chunk of lines at a time as columns (polars, in Rust): ~7 µs a row of a 1,000,000-row file
# on the benchmark machine, 2 of them the keyed hash, against ~12 µs in the row loop above.
# Every decision is the row loop's, made on a column at once; values that repeat (genders,
# grades, dates, invalid phone spellings) are parsed once each with the row loop's own
# functions. A file that is not plain takes the row loop.

# What Python's str.strip() strips (polars' default set lacks \x1c-\x1f).
_PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
PLAIN_BLOCK_BYTES = 8 << 20


def _text_blocks(source: _Source) -> Iterator[str]:
    """The file's text in blocks, strictly decoded (raises UnicodeDecodeError). A block never
    ends in the CR of a CRLF."""
    decoder = codecs.getincrementaldecoder(source.encoding)("strict")
    carry = ""
    with open(source.path, "rb") as fh:
        fh.read(len(source.bom))
        while True:
            data = fh.read(PLAIN_BLOCK_BYTES)
            text = carry + decoder.decode(data, final=not data)
            carry = ""
            if data and text.endswith("\r"):
                text, carry = text[:-1], "\r"
            if text:
                yield text
            if not data:
                return


def _is_plain_text(source: _Source) -> bool:
    """True when csv reads every line of the file as one row and every delimiter as a cell
    boundary, with nothing to undo: the file decodes with its encoding and holds no quote
    character, NUL, lone carriage return or RAW_SEPARATOR."""
    if source.format != "csv":
        return False
    try:
        for text in _text_blocks(source):
            if '"' in text or "\x00" in text or RAW_SEPARATOR in text:
                return False
            if "\r" in text and text.count("\r") != text.count("\r\n"):
                return False
    except (UnicodeError, LookupError):
        return False
    return True


def _plain_line_chunks(
    source: _Source, first_data_row: int, size: int
) -> Iterator[tuple[int, list[str]]]:
    """(row number of the first line, lines) of at most ``size`` lines from the row numbered
    ``first_data_row`` on; rows before it come as chunks of their own first."""
    pending: list[str] = []
    start = 1  # the row number of pending[0]
    carry = ""
    for text in _text_blocks(source):
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = (carry + text).split("\n")
        carry = lines.pop()
        pending.extend(lines)
        while start < first_data_row and pending:
            head = min(first_data_row - start, len(pending))
            yield start, pending[:head]
            del pending[:head]
            start += head
        while len(pending) >= size:
            yield start, pending[:size]
            del pending[:size]
            start += size
    if carry:
        pending.append(carry)
    while start < first_data_row and pending:
        head = min(first_data_row - start, len(pending))
        yield start, pending[:head]
        del pending[:head]
        start += head
    while pending:
        yield start, pending[:size]
        del pending[:size]
        start += size


class _ColumnReader:
    """Checks chunks of plain CSV lines column-wise; keeps what spans chunks (the numbers
    seen so far, the parsed values)."""

    def __init__(
        self,
        *,
        stage: _Stage,
        delimiter: str,
        columns: dict[int, str],
        width: int,
        named_width: int,
        default_grade: str,
        blocked: set[str],
        today: dt.date,
    ) -> None:
        import polars as pl

        self.pl = pl
        self.delimiter = delimiter
        self.index = {f: i for i, f in columns.items() if f and f != "remark"}
        self.mobile = self.index["mobile"]
        self.width, self.named_width = width, named_width
        self.default_grade = default_grade
        self.today = today
        self.tz = timezone.get_current_timezone()
        self.postgres = stage.postgres
        self.date_value, self.time_value = stage.date_value, stage.time_value
        self.blocked = pl.Series("blocked", list(blocked), dtype=pl.String)
        self.fast = f"^(?:{FAST_MOBILE_PATTERN})$"
        self.e164 = f"^(?:{E164_PATTERN})$"
        self.seen: dict[str, int] = {}
        self.blocks_checked: set[int] = set()
        self.blocks_mobile: set[int] = set()
        self.phones: dict[str, tuple[str | None, str | None]] = {}
        #: Phone cells that held more than one valid number (the first is imported).
        self.multi: set[str] = set()
        self.parsed: dict[str, dict[str, Any]] = {
            "gender": {},
            "grade": {},
            "birth_date": {},
            "consent_at": {},
        }

    # Values parsed once per distinct text, with the row loop's functions.

    def _mapped(self, column: Any, field_name: str, parse: Callable[[str], Any]) -> dict:
        """{text: parsed value} for the distinct texts of ``column``."""
        cache = self.parsed[field_name]
        values = column.unique().to_list()
        for value in values:
            if value not in cache:
                cache[value] = parse(value)
        return {v: cache[v] for v in values}

    def _parsed(self, frame: Any, field_name: str, parse: Callable[[str], Any]) -> Any:
        """``frame`` with the column ``field_name`` parsed (``parse`` gives a value)."""
        pl = self.pl
        column = frame.get_column("text")
        found = self._mapped(column, field_name, parse)
        if not found:  # no rows (replace_strict would keep the column as it is)
            return frame.with_columns(pl.lit(None, dtype=pl.String).alias(field_name))
        return frame.with_columns(
            column.replace_strict(found, return_dtype=pl.String).alias(field_name)
        )

    def _parsed_or_bad(self, frame: Any, field_name: str, parse: Callable[[str], Any]) -> Any:
        """Likewise for ``parse`` giving (value, bad); adds ``<field>_bad``."""
        pl = self.pl
        column = frame.get_column("text")
        found = self._mapped(column, field_name, parse)
        if not found:
            return frame.with_columns(
                pl.lit(None, dtype=pl.String).alias(field_name),
                pl.lit(False).alias(f"{field_name}_bad"),
            )
        values = {k: v[0] for k, v in found.items()}
        bad = {k: v[1] for k, v in found.items()}
        return frame.with_columns(
            column.replace_strict(values, return_dtype=pl.String).alias(field_name),
            column.replace_strict(bad, return_dtype=pl.Boolean).alias(f"{field_name}_bad"),
        )

    def _date_text(self, value: str) -> tuple[str | None, bool]:
        parsed = _parse_birth_date(value, self.today)
        if parsed is _INVALID:
            return None, True
        if parsed is None:
            return None, False
        return self._stage_date(parsed), False  # type: ignore[arg-type]

    def _stage_date(self, day: dt.date) -> str:
        return self.date_value(day) if self.date_value else day.isoformat()

    def _time_text(self, value: str) -> tuple[str | None, bool]:
        parsed = _parse_datetime(value)
        if parsed is _INVALID:
            return None, True
        if parsed is None:
            return None, False
        aware = timezone.make_aware(parsed, self.tz)  # type: ignore[arg-type]
        return (self.time_value(aware) if self.time_value else aware.isoformat()), False

    def cell(self, name: str) -> Any:
        return self.pl.col("cells").list.get(self.index[name], null_on_oob=True).fill_null("")

    def chunk(self, first_row: int, lines: list[str]) -> tuple[Any, Any, int, int]:
        """(accepted rows, rejected rows, rows, blank rows) of one chunk of data lines."""
        pl = self.pl
        delimiter, width, named_width = self.delimiter, self.width, self.named_width
        frame = pl.DataFrame(
            {
                "line": pl.Series(lines, dtype=pl.String),
                "row_no": pl.int_range(first_row, first_row + len(lines), eager=True),
            }
        )
        blank_rows = (
            frame.get_column("line").str.strip_chars(delimiter + " \t\r\n\xa0\u3000").eq("")
        )
        blank = int(blank_rows.sum())
        if blank:
            frame = frame.filter(~blank_rows)
        rows = frame.height
        raw = pl.col("line").str.replace_all(delimiter, RAW_SEPARATOR, literal=True)
        frame = frame.with_columns(cells=pl.col("line").str.split(delimiter))
        rejected: list[Any] = []

        no_hash = pl.lit(None, dtype=pl.String)

        def reject(part: Any, reason: str, detail: Any, digest: Any = no_hash) -> None:
            if part.height:
                rejected.append(
                    part.select(
                        "row_no",
                        reason=pl.lit(reason, dtype=pl.String),
                        detail=detail,
                        raw=raw,
                        hash=digest,
                    )
                )

        if width:
            # Rows of the header's width pass; longer ones only with nothing in the extra
            # cells (looked at row by row: they are rare), shorter ones down to the last
            # named column.
            n = pl.col("cells").list.len()
            frame = frame.with_columns(
                bad=~((n == width) | ((n >= named_width) & (n < width))), n=n
            )
            longer = frame.filter(pl.col("n") > width)
            if longer.height:
                ok = [
                    _is_blank(cells[width:], True) for cells in longer.get_column("cells").to_list()
                ]
                passed = longer.filter(pl.Series(ok, dtype=pl.Boolean)).get_column("row_no")
                frame = frame.with_columns(
                    bad=pl.col("bad") & ~pl.col("row_no").is_in(passed.implode())
                )
            reject(
                frame.filter("bad"),
                RejectReason.BAD_ROW.value,
                pl.format("{}/{}", pl.col("n"), pl.lit(named_width)),
            )
            frame = frame.filter(~pl.col("bad")).drop("bad", "n")

        # The phone: the fast path on the whole column, the rest once per distinct value.
        frame = frame.with_columns(phone=self.cell("mobile"))
        groups = pl.col("phone").str.extract_groups(self.fast)
        national = pl.concat_str([groups.struct.field(g) for g in ("1", "2", "3")])
        frame = frame.with_columns(national=national).with_columns(
            block=pl.col("national").str.slice(0, 7).cast(pl.Int64)
        )
        blocks = set(frame.get_column("block").drop_nulls().unique().to_list())
        new_blocks = blocks - self.blocks_checked
        if new_blocks:
            self.blocks_mobile |= mobile_blocks(new_blocks)
            self.blocks_checked |= new_blocks
        mobile = pl.Series(sorted(self.blocks_mobile & blocks), dtype=pl.Int64)
        fast = pl.col("block").is_in(mobile.implode()) & pl.col("national").is_not_null()
        frame = frame.with_columns(fast=fast)
        slow_values = frame.filter(~pl.col("fast")).get_column("phone").unique().to_list()
        phones = self.phones
        for value in slow_values:
            if value not in phones:
                result = normalise_phone(value)
                phones[value] = (result.e164, result.error)
                if result.other_numbers:
                    self.multi.add(value)
        slow = pl.DataFrame(
            {
                "phone": pl.Series(slow_values, dtype=pl.String),
                "slow_e164": pl.Series([phones[v][0] for v in slow_values], dtype=pl.String),
                "error": pl.Series([phones[v][1] for v in slow_values], dtype=pl.String),
            }
        )
        frame = frame.join(slow, on="phone", how="left", maintain_order="left").with_columns(
            e164=pl.when("fast").then(pl.lit("+86") + pl.col("national")).otherwise("slow_e164")
        )
        missing = frame.filter(pl.col("error") == "empty")
        reject(missing, RejectReason.MISSING_PHONE.value, pl.lit("", dtype=pl.String))
        bad_phone = frame.filter(pl.col("e164").is_null() & (pl.col("error") != "empty"))
        reject(bad_phone, RejectReason.INVALID_PHONE.value, pl.col("error"))
        frame = frame.filter(pl.col("e164").is_not_null())
        # Hashed before the duplicates go: a rejected row keeps its number's hash (who
        # downloaded a report holding the number is found by it).
        numbers = frame.get_column("e164").to_list()
        checked = bool(frame.select(pl.col("e164").str.contains(self.e164).all()).item())
        frame = frame.with_columns(
            hash=pl.Series(phone_hashes(numbers, checked=checked), dtype=pl.String)
        )

        # Duplicates within the file: the first row wins (earlier chunks, then this one).
        remember = self.seen.setdefault
        first = [
            remember(number, row_no)
            for number, row_no in zip(
                numbers,
                frame.get_column("row_no").to_list(),
                strict=True,
            )
        ]
        frame = frame.with_columns(first=pl.Series(first, dtype=pl.Int64))
        duplicate = pl.col("row_no") != pl.col("first")
        reject(
            frame.filter(duplicate),
            RejectReason.DUPLICATE_IN_FILE.value,
            pl.col("first").cast(pl.String),
            pl.col("hash"),
        )
        frame = frame.filter(~duplicate)
        dnc = pl.col("hash").is_in(self.blocked.implode())
        reject(
            frame.filter(dnc), RejectReason.DNC.value, pl.lit("", dtype=pl.String), pl.col("hash")
        )
        frame = frame.filter(~dnc)
        accepted = self._values(frame)
        warned = accepted.height - accepted.get_column("warn_reason").null_count()
        accepted = accepted.with_columns(
            raw=pl.when(pl.col("warn_reason").is_not_null()).then(raw).otherwise(None)
            if warned
            else pl.lit(None, dtype=pl.String)
        )
        rejected_rows = (
            pl.concat(rejected)
            if rejected
            else pl.DataFrame(
                schema={
                    "row_no": pl.Int64,
                    "reason": pl.String,
                    "detail": pl.String,
                    "raw": pl.String,
                    "hash": pl.String,
                }
            )
        )
        return accepted, rejected_rows, rows, blank

    def _values(self, frame: Any) -> Any:
        """The accepted rows' values, as the row loop computes them."""
        pl = self.pl
        index = self.index
        text = pl.String
        none = pl.lit(None, dtype=text)

        def clipped(name: str, length: int, empty_is_null: bool = False) -> Any:
            if name not in index:
                return none if empty_is_null else pl.lit("", dtype=text)
            value = self.cell(name).str.strip_chars(_PY_WHITESPACE).str.slice(0, length)
            return pl.when(value == "").then(None).otherwise(value) if empty_is_null else value

        frame = frame.with_columns(
            name=clipped("name", 50),
            province=clipped("province", 20),
            city=clipped("city", 30),
            consent_source=clipped("consent_source", 100, True),
            consent_wording=clipped("consent_wording", 5000, True),
            consent_evidence=clipped("consent_evidence", 300, True),
        )
        if "gender" in index:
            frame = self._parsed(
                frame.with_columns(text=self.cell("gender")), "gender", _parse_gender
            )
        else:
            frame = frame.with_columns(gender=pl.lit("", dtype=text))
        if "grade" in index:
            default = self.default_grade
            frame = self._parsed(
                frame.with_columns(text=self.cell("grade")),
                "grade",
                lambda v: _parse_grade(v) or default,
            )
        else:
            frame = frame.with_columns(grade=pl.lit(self.default_grade, dtype=text))
        birth_bad = consent_bad = pl.lit(False)
        if "birth_date" in index:
            frame = self._parsed_or_bad(
                frame.with_columns(text=self.cell("birth_date")), "birth_date", self._date_text
            )
            birth_bad = pl.col("birth_date_bad")
        else:
            frame = frame.with_columns(birth_date=none)
        if "consent_at" in index:
            frame = self._parsed_or_bad(
                frame.with_columns(text=self.cell("consent_at")), "consent_at", self._time_text
            )
            consent_bad = pl.col("consent_at_bad")
        else:
            frame = frame.with_columns(consent_at=none)
        frame = frame.with_columns(id_number=pl.lit("", dtype=text), id_error=none)
        if "id_number" in index:
            frame = self._id_numbers(frame)
        id_error = pl.col("id_error")
        more = (
            pl.col("phone").is_in(pl.Series(sorted(self.multi), dtype=text).implode())
            if self.multi
            else pl.lit(False)
        )
        frame = frame.with_columns(
            warn_reason=pl.when(id_error.is_not_null())
            .then(pl.lit(RejectReason.INVALID_ID_NUMBER.value))
            .when(birth_bad | consent_bad | more)
            .then(pl.lit(RejectReason.INVALID_VALUE.value))
            .otherwise(none),
            warn_detail=pl.concat_str(
                [
                    pl.lit("id_number:") + id_error,
                    pl.when(birth_bad).then(pl.lit("birth_date")).otherwise(none),
                    pl.when(consent_bad).then(pl.lit("consent_at")).otherwise(none),
                    pl.when(more).then(pl.lit("mobile:other")).otherwise(none),
                ],
                separator="; ",
                ignore_nulls=True,
            ),
        )
        return frame.with_columns(
            warn_detail=pl.when(pl.col("warn_reason").is_null()).then(none).otherwise("warn_detail")
        )

    def _id_numbers(self, frame: Any) -> Any:
        """ID numbers, row by row for the rows that have one (a valid one fills a blank
        gender and birth date, an invalid one is a warning)."""
        pl = self.pl
        frame = frame.with_columns(idn=self.cell("id_number"))
        has_id = pl.col("idn").str.strip_chars(_PY_WHITESPACE) != ""
        part = frame.filter(has_id).select("row_no", "idn", "gender", "birth_date")
        if not part.height:
            return frame
        numbers, genders, births, errors = [], [], [], []
        for value, gender, birth in zip(
            part.get_column("idn").to_list(),
            part.get_column("gender").to_list(),
            part.get_column("birth_date").to_list(),
            strict=True,
        ):
            checked = validate_id_number(value, today=self.today)
            if checked.ok:
                numbers.append(checked.value or "")
                genders.append(gender or checked.gender or "")
                if birth is None and checked.birth_date:
                    birth = self._stage_date(checked.birth_date)
                births.append(birth)
                errors.append(None)
            else:
                numbers.append("")
                genders.append(gender)
                births.append(birth)
                errors.append(checked.error)
        found = pl.DataFrame(
            {
                "row_no": part.get_column("row_no"),
                "id_number_": pl.Series(numbers, dtype=pl.String),
                "gender_": pl.Series(genders, dtype=pl.String),
                "birth_date_": pl.Series(births, dtype=pl.String),
                "id_error_": pl.Series(errors, dtype=pl.String),
            }
        )
        found = found.with_columns(checked=pl.lit(True))
        frame = frame.join(found, on="row_no", how="left", maintain_order="left")
        checked = pl.col("checked").fill_null(False)
        return frame.with_columns(
            id_number=pl.coalesce("id_number_", "id_number"),
            gender=pl.when(checked).then("gender_").otherwise("gender"),
            birth_date=pl.when(checked).then("birth_date_").otherwise("birth_date"),
            id_error=pl.col("id_error_"),
        ).drop("id_number_", "gender_", "birth_date_", "id_error_", "checked")


def _stage_plain(
    batch: LeadBatch,
    stage: _Stage,
    progress: ProgressCallback | None,
    source: _Source,
    summary: _Summary,
    reader: _ColumnReader,
    *,
    header_row: int,
    estimate: int,
) -> tuple[int, int, int]:
    """Stage a plain CSV file chunk by chunk, column-wise; (data lines, rows, blank rows)."""
    consumed = rows = blank = 0
    first_chunk = True
    pending: tuple[int, list[str]] | None = None

    def stage_chunk(first_row: int, lines: list[str]) -> None:
        nonlocal consumed, rows, blank
        if first_row <= header_row:  # the header and what is above it
            for offset, line in enumerate(lines):
                if first_row + offset < header_row and not _is_blank(
                    line.split(source.delimiter), True
                ):
                    summary.skipped_above_header += 1
            return
        accepted, rejected, chunk_rows, chunk_blank = reader.chunk(first_row, lines)
        clock = time.perf_counter()
        stage.load_frames(accepted, rejected)
        summary.staging_seconds += time.perf_counter() - clock
        consumed += len(lines)
        rows += chunk_rows
        blank += chunk_blank

    for first_row, lines in _plain_line_chunks(source, header_row + 1, CHUNK_ROWS):
        if pending is not None:
            stage_chunk(*pending)
            if pending[0] > header_row:
                _report_progress(batch.pk, consumed, estimate, progress)
                if first_chunk:
                    first_chunk = False
                    _fault_point("staged-chunk")
        pending = (first_row, lines)
    if pending is not None:
        stage_chunk(*pending)
    return consumed, rows, blank


def _active_dnc_hashes(at: dt.datetime) -> set[str]:
    """The hashes on the do-not-call list now (a set of ~150 bytes per entry)."""
    from telesales.leads.services import dnc_active_q

    query = DncEntry.objects.filter(dnc_active_q(at)).values_list("phone_hash", flat=True)
    return set(query.iterator(chunk_size=20_000))


_MISSING = object()


def _report_progress(
    batch_id: int, processed: int, estimate: int, progress: ProgressCallback | None
) -> None:
    total = max(estimate, processed)
    LeadBatch.objects.filter(pk=batch_id).update(
        processed=processed, rows=total, updated_at=timezone.now()
    )
    if progress is not None:
        progress(processed, total)


def _restore_raw(cursor: Any, stage: _Stage) -> bool:
    """The column reader stages the row as read only for the rows it rejects or warns about
    (a million rows as read would double what is staged). Rows that the merge rejects (the
    number is a customer already, or was put on the DNC list while the file was read) get it
    here, read again from the stored file into a second temporary table; True if any."""
    cursor.execute(f"SELECT row_no FROM {stage.table} WHERE reason IS NOT NULL AND raw IS NULL")
    wanted = {row[0] for row in cursor.fetchall()}
    if not wanted:
        return False
    source = stage.raw_source
    assert source is not None
    found: list[tuple[int, str]] = []
    for first, lines in _plain_line_chunks(source, 1, CHUNK_ROWS):
        found.extend(
            (first + offset, line.replace(source.delimiter, RAW_SEPARATOR))
            for offset, line in enumerate(lines)
            if first + offset in wanted
        )
    cursor.execute(f"DROP TABLE IF EXISTS {stage.raw_table}")
    cursor.execute(f"CREATE TEMPORARY TABLE {stage.raw_table} (row_no integer, raw text)")
    if stage.postgres:
        with cursor.cursor.copy(f"COPY {stage.raw_table} (row_no, raw) FROM STDIN") as copy:
            for row in found:
                copy.write_row(row)
    else:
        cursor.executemany(f"INSERT INTO {stage.raw_table} (row_no, raw) VALUES (%s, %s)", found)
    cursor.execute(f"CREATE INDEX {stage.raw_table}_row ON {stage.raw_table} (row_no)")
    return True


def _foreign_key_triggers_off(cursor: Any, batch: LeadBatch) -> bool:
    """PostgreSQL: switch off the foreign-key checks of the merge's own inserts when the
    connection may (a superuser, or a role granted ``SET ON PARAMETER
    session_replication_role``, PostgreSQL 15+); True if they are off.

    PostgreSQL checks every foreign key of every inserted row, one lookup each at commit:
    three million for a million leads (customer, channel, batch), each locking the row it
    finds, which for the customers means writing every new customer row again. The merge
    guarantees what those checks would find, at the cost of two row locks: every customer id
    it writes belongs to a customer this transaction inserted (rows whose customer insert
    was skipped are rejected before the leads are inserted), owner and household are empty,
    and the channel and the batch are locked ``FOR KEY SHARE`` here, as each check would
    lock them, so that nobody deletes them before the commit. Only this transaction's rows
    are concerned: the setting is local to it and reset right after the inserts; unique and
    check constraints are indexes and expressions, not triggers, and stay in force.
    """
    if not _UNCHECKED_MERGE:
        return False
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False  # not allowed: every row is checked at commit, as usual
    channel_table = connection.ops.quote_name(Channel._meta.db_table)
    batch_table = connection.ops.quote_name(LeadBatch._meta.db_table)
    cursor.execute(f"SELECT 1 FROM {channel_table} WHERE id = %s FOR KEY SHARE", [batch.channel_id])
    cursor.execute(f"SELECT 1 FROM {batch_table} WHERE id = %s FOR KEY SHARE", [batch.pk])
    return True


_UNCHECKED_MERGE = True  # tests switch it off to run the checked path


@contextlib.contextmanager
def _merge_settings() -> Iterator[None]:
    """SQLite: a page cache big enough for the customer and lead indexes during the merge
    (the default 2 MB makes a million random index inserts read pages again and again)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MB, given back afterwards
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _merge(batch: LeadBatch, stage: _Stage, summary: _Summary, *, resumed: bool) -> None:
    """Move the staged rows into customers, leads and rejections: one transaction."""
    table = stage.table
    postgres = connection.vendor == "postgresql"
    ops = connection.ops
    now = timezone.now()
    now_db = ops.adapt_datetimefield_value(now)
    channel = batch.channel
    customer_table = ops.quote_name(Customer._meta.db_table)
    lead_table = ops.quote_name(Lead._meta.db_table)
    dnc_table = ops.quote_name(DncEntry._meta.db_table)
    rejection_table = ops.quote_name(BatchRejection._meta.db_table)
    consent_at = ops.adapt_datetimefield_value(batch.created_at)
    clock = time.perf_counter()
    steps: dict[str, float] = {}

    def step(name: str, started: list[float] = [clock]) -> None:  # noqa: B006 - the timer
        now = time.perf_counter()
        steps[name] = round(now - started[0], 2)
        started[0] = now

    with _merge_settings(), transaction.atomic(), connection.cursor() as cursor:
        unchecked = False
        if postgres:
            # Compiling the plans of these few big statements (JIT) takes longer than it saves.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
            unchecked = _foreign_key_triggers_off(cursor, batch)
        else:
            connection.connection.create_function(
                "leads_import_raw_json", 1, _raw_json, deterministic=True
            )
        # 1. Do-not-call entries made while the file was read (the rows were checked
        #    against the list as it was when reading began).
        cursor.execute(
            f"SELECT 1 FROM {dnc_table} WHERE created_at >= %s LIMIT 1",
            [ops.adapt_datetimefield_value(summary.dnc_loaded_at)],
        )
        late_dnc = 0
        if cursor.fetchone():
            cursor.execute(
                f"UPDATE {table} SET reason = %s WHERE reason IS NULL AND hash IN ("
                f"SELECT phone_hash FROM {dnc_table} WHERE removed_at IS NULL "
                f"AND (expires_at IS NULL OR expires_at > %s))",
                [RejectReason.DNC.value, now_db],
            )
            late_dnc = cursor.rowcount
        # 2. Already a customer: blocked if flagged no-marketing, else a duplicate.
        cursor.execute(
            f"UPDATE {table} SET reason = CASE WHEN (SELECT c.no_marketing FROM {customer_table} c "
            f"WHERE c.mobile_hash = {table}.hash) = %s THEN %s ELSE %s END "
            f"WHERE reason IS NULL AND hash IN (SELECT mobile_hash FROM {customer_table})",
            [True, RejectReason.DNC.value, RejectReason.DUPLICATE_EXISTING.value],
        )
        existing = cursor.rowcount
        step("checks")
        counts = Counter(stage.rejected_rows)
        counts[RejectReason.DNC.value] += late_dnc
        if existing:
            cursor.execute(
                f"SELECT COUNT(*) FROM {table} WHERE reason = %s", [RejectReason.DNC.value]
            )
            flagged = cursor.fetchone()[0] - counts[RejectReason.DNC.value]
            counts[RejectReason.DNC.value] += flagged
            counts[RejectReason.DUPLICATE_EXISTING.value] += existing - flagged
        expected = stage.accepted_rows - late_dnc - existing
        # 3. New customers, then their leads, in the order of the file. Each staged row
        #    knows its customer id, so neither insert needs a join. (Inserting the customers
        #    in the order of their hashes fills the unique index from left to right, but
        #    their ids, and with them the leads' customer index, then come at random: slower
        #    in total on PostgreSQL, measured.)
        if postgres:
            customer_id: tuple[str, list] = ("s.cid", [])
        else:
            # Under the write lock no one else inserts: ids above the table's highest ever
            # id (AUTOINCREMENT) are free; the staging row id keeps them unique.
            cursor.execute(
                f"SELECT MAX(v) FROM (SELECT MAX(id) AS v FROM {customer_table} "
                f"UNION ALL SELECT seq FROM sqlite_sequence WHERE name = %s)",
                [Customer._meta.db_table],
            )
            customer_id = ("%s + s.rowid", [cursor.fetchone()[0] or 0])
        customer_columns, customer_select, customer_params = _insert_columns(
            Customer,
            {
                "id": customer_id,
                "created_at": ("%s", [now_db]),
                "updated_at": ("%s", [now_db]),
                "name": ("COALESCE(s.name, '')", []),
                "mobile_e164": ("s.e164", []),
                "mobile_hash": ("s.hash", []),
                "gender": ("COALESCE(s.gender, '')", []),
                "birth_date": ("s.birth_date", []),
                "province": ("COALESCE(s.province, '')", []),
                "city": ("COALESCE(s.city, '')", []),
                "id_number": ("COALESCE(s.id_number, '')", []),
            },
        )
        cursor.execute(
            f"INSERT INTO {customer_table} ({customer_columns}) "
            f"SELECT {customer_select} FROM {table} s WHERE s.reason IS NULL "
            f"ON CONFLICT (mobile_hash) DO NOTHING",
            customer_params,
        )
        imported = cursor.rowcount
        step("customers")
        if imported != expected:
            # Another transaction created some of these customers after step 2.
            cursor.execute(
                f"UPDATE {table} SET reason = %s WHERE reason IS NULL AND NOT EXISTS ("
                f"SELECT 1 FROM {customer_table} c WHERE c.id = "
                f"{customer_id[0].replace('s.', table + '.')})",
                [RejectReason.DUPLICATE_EXISTING.value, *customer_id[1]],
            )
            counts[RejectReason.DUPLICATE_EXISTING.value] += cursor.rowcount
        lead_columns, lead_select, lead_params = _insert_columns(
            Lead,
            {
                "created_at": ("%s", [now_db]),
                "updated_at": ("%s", [now_db]),
                "customer_id": customer_id,
                "channel_id": ("%s", [channel.pk]),
                "batch_id": ("%s", [batch.pk]),
                "grade": ("COALESCE(s.grade, %s)", [batch.default_grade]),
                "required_grade": ("%s", [batch.required_grade]),
                "state": ("%s", [LeadState.PUBLIC.value]),
                # The channel stands in for a missing consent record only when it says what
                # the customers agreed to; otherwise the lead has no consent and stays uncallable.
                "consent_source": (
                    "COALESCE(s.consent_source, %s)",
                    [channel.name[:100] if channel.consent_wording else ""],
                ),
                "consent_at": (
                    "COALESCE(s.consent_at, %s)",
                    [consent_at if channel.consent_wording else None],
                ),
                "consent_wording": (
                    "COALESCE(s.consent_wording, %s)",
                    [channel.consent_wording],
                ),
                "consent_evidence": ("COALESCE(s.consent_evidence, %s)", [""]),
            },
        )
        cursor.execute(
            f"INSERT INTO {lead_table} ({lead_columns}) "
            f"SELECT {lead_select} FROM {table} s WHERE s.reason IS NULL",
            lead_params,
        )
        if cursor.rowcount != imported:
            raise RuntimeError(f"{cursor.rowcount} leads for {imported} new customers")
        step("leads")
        _fault_point("merge")
        # 4. Rejections, and warnings for imported rows.
        raw = "s.raw"
        joined = f"{table} s"
        if stage.raw_source is not None and _restore_raw(cursor, stage):
            raw = "COALESCE(s.raw, r.raw)"
            joined += f" LEFT JOIN {stage.raw_table} r ON r.row_no = s.row_no"
        raw_json = (
            f"to_jsonb(string_to_array({raw}, chr({ord(RAW_SEPARATOR)})))"
            if postgres
            else f"leads_import_raw_json({raw})"
        )
        insert_rejections = (
            f"INSERT INTO {rejection_table} "
            f"(batch_id, row_number, reason, detail, raw, phone_hash) "
        )
        cursor.execute(
            f"{insert_rejections} SELECT %s, s.row_no, s.reason, COALESCE(s.detail, ''), "
            f"{raw_json}, COALESCE(s.hash, '') FROM {joined} WHERE s.reason IS NOT NULL",
            [batch.pk],
        )
        warnings = 0
        if stage.warned_rows:
            cursor.execute(
                f"{insert_rejections} SELECT %s, s.row_no, s.warn_reason, s.warn_detail, "
                f"{raw_json}, COALESCE(s.hash, '') FROM {joined} "
                f"WHERE s.reason IS NULL AND s.warn_reason IS NOT NULL",
                [batch.pk],
            )
            warnings = cursor.rowcount
        if unchecked:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        step("rejections")
        # 5. Counts: what was staged and what each statement changed (they add up).
        by_reason = {reason: n for reason, n in counts.items() if n}
        rows = imported + sum(by_reason.values())
        duplicate = (
            counts[RejectReason.DUPLICATE_IN_FILE.value]
            + counts[RejectReason.DUPLICATE_EXISTING.value]
        )
        dnc_blocked = counts[RejectReason.DNC.value]
        invalid = rows - imported - duplicate - dnc_blocked
        if rows != summary.rows:
            raise RuntimeError(f"import counts do not add up: {rows} != {summary.rows}")
        info = dict(batch.mapping or {})
        info["summary"] = {
            "blank_rows": summary.blank,
            "rows_above_header": summary.skipped_above_header,
            "warnings": warnings,
            "by_reason": {str(k): v for k, v in by_reason.items() if k},
            "read_seconds": round(summary.read_seconds, 2),
            "reader": summary.reader,
            "staging_seconds": round(summary.staging_seconds, 2),
            "merge_seconds": round(time.perf_counter() - clock, 2),
            "merge_steps": steps,
            "encoding": summary.source.get("encoding", ""),
            "sheet": summary.source.get("sheet", ""),
            "resumed": resumed,
        }
        finished = timezone.now()
        LeadBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.DONE,
            rows=rows,
            processed=rows,
            imported=imported,
            duplicate=duplicate,
            invalid=invalid,
            dnc_blocked=dnc_blocked,
            mapping=info,
            finished_at=finished,
            updated_at=finished,
        )
        batch.refresh_from_db()
        audit_record(
            actor=batch.uploader,
            action="leads.batch_import",
            instance=batch,
            after={
                "rows": rows,
                "imported": imported,
                "duplicate": duplicate,
                "invalid": invalid,
                "dnc_blocked": dnc_blocked,
                "warnings": warnings,
                "blank_rows": summary.blank,
                "resumed": resumed,
            },
        )


# --- Rejection report ---------------------------------------------------------------------------

REPORT_HEADER = ("行号", "原因", "说明", "处理结果")  # fixed Chinese column titles of the file
_WARNING_REASONS = (RejectReason.INVALID_ID_NUMBER.value, RejectReason.INVALID_VALUE.value)


def rejection_is_warning(reason: str) -> bool:
    """The row was imported; only the field named in the detail was not saved."""
    return reason in _WARNING_REASONS


#: An identity-card number in a cell (18 characters, the last a digit or X; or the old 15).
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def _masked_cell(text: str) -> str:
    """A report cell as the masked report shows it: phone numbers and identity-card numbers
    masked as the pages mask them (``138****8000``, ``110105********1234``)."""
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), mask_numbers_in(text))


def rejection_detail_text(reason: str, detail: str) -> str:
    """A rejected row's detail in words, as the batch page and the rejection report show it;
    the import stores codes ("too_short", "12", "3/5", "id_number:checksum_mismatch;
    consent_at")."""
    if reason == RejectReason.INVALID_PHONE and detail in PHONE_ERRORS:
        return str(PHONE_ERRORS[detail])
    if reason == RejectReason.DUPLICATE_IN_FILE and detail:
        return _("same number as row %(row)s") % {"row": detail}
    if reason == RejectReason.BAD_ROW and "/" in detail:
        found, expected = detail.split("/", 1)
        return _("%(found)s cells, the header has %(expected)s") % {
            "found": found,
            "expected": expected,
        }
    if reason in _WARNING_REASONS and detail:
        parts = []
        for part in detail.split("; "):
            field_name, _sep, code = part.partition(":")
            label = FIELDS.get(field_name)
            problem = ID_NUMBER_ERRORS.get(code) if field_name == "id_number" else None
            if field_name == "mobile" and code == "other":
                problem = _(
                    "more than one number in the cell: the first was imported, not the others"
                )
            if label is None:
                parts.append(part)
            elif problem:
                parts.append(_("%(field)s: %(problem)s") % {"field": label, "problem": problem})
            else:
                parts.append(str(label))
        return "; ".join(parts)
    return detail


def batch_rejection_report(
    *,
    batch: LeadBatch,
    fmt: str = "xlsx",
    actor=None,
    full_numbers: bool | None = None,
    reason: str = "",
) -> bytes:
    """The per-row report of a batch: row number, reason, detail, outcome and the row as
    read. Cells are neutralised against formula injection.

    With an ``actor``, the permission is checked and the download audited
    (``leads.batch_rejection_report``: format, rows, ``full_numbers``, the reason). Every
    number in the rows is masked unless ``full_numbers`` is asked for, which, like any
    reveal, needs the right to see numbers (TELESALES_PHONE_REVEAL_ROLES) and a reason of at
    least 2 characters. Without an actor (the system) the rows are as read unless
    ``full_numbers`` is False."""
    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed(_("Format xlsx or csv"), fields={"fmt": [_("xlsx or csv")]})
    reason = mask_numbers_in((reason or "").strip())
    if actor is not None and not isinstance(actor, str):
        _check_actor(actor)
        full_numbers = bool(full_numbers)
        if full_numbers and not permissions.can_reveal_phone(actor):
            raise PermissionDenied(_("You may not see full phone numbers"))
        if full_numbers and len(reason) < 2:
            raise ValidationFailed(
                _("Say why you need the full numbers"),
                fields={"reason": [_("a reason is required for full numbers")]},
            )
    else:
        full_numbers = full_numbers is not False
    shown = (lambda text: text) if full_numbers else _masked_cell
    headers = [str(h) for h in (batch.mapping or {}).get("headers", [])]
    title = [*REPORT_HEADER, *headers]
    rows_query = BatchRejection.objects.filter(batch_id=batch.pk).order_by("row_number", "id")
    with translation.override(settings.LANGUAGE_CODE):
        labels = {value: str(label) for value, label in RejectReason.choices}
        imported_text, rejected_text = "已导入（该字段未保存）", "未导入"

        def lines() -> Iterator[list[Any]]:
            for rejection in rows_query.iterator(chunk_size=5000):
                raw = rejection.raw if isinstance(rejection.raw, list) else [rejection.raw]
                yield [
                    rejection.row_number,
                    labels.get(rejection.reason, rejection.reason),
                    rejection_detail_text(rejection.reason, rejection.detail),
                    imported_text if rejection.reason in _WARNING_REASONS else rejected_text,
                    *(neutralise(shown(_cell_text(v))) for v in raw),
                ]

        content = _report_xlsx(title, lines()) if fmt == "xlsx" else _report_csv(title, lines())
    if actor is not None:
        audit_record(
            actor=actor,
            action="leads.batch_rejection_report",
            instance=batch,
            after={"format": fmt, "rows": rows_query.count(), "full_numbers": full_numbers},
            reason=reason,
        )
    return content


def _report_csv(title: list[str], lines: Iterator[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(t) for t in title])
    writer.writerows(lines)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def _report_xlsx(title: list[str], lines: Iterator[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("拒绝明细")
    sheet.append([neutralise(t) for t in title])
    for line in lines:
        sheet.append([xlsx_safe(v) for v in line])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- DNC import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DncImportResult:
    rows: int
    added: int
    invalid: int
    already_listed: int
    blank_rows: int
    leads_blocked: int
    invalid_rows: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "added": self.added,
            "invalid": self.invalid,
            "already_listed": self.already_listed,
            "blank_rows": self.blank_rows,
            "leads_blocked": self.leads_blocked,
            "invalid_rows": self.invalid_rows[:100],
        }


def dnc_import(
    *,
    file: str | Path | IO[bytes],
    actor=None,
    source: str = DncSource.IMPORT,
    days: int | None = None,
    permanent: bool = False,
    reason: str = "",
    file_name: str = "",
) -> DncImportResult:
    """Load a do-not-call list: one number per row (the phone column if a header names one,
    else the first column holding numbers), normalised like lead imports.

    ``already_listed`` counts numbers with an active entry that blocks at least as long (give
    or take a day), and repeats within the file. Permanent entries also flag the customers
    no-marketing. Leads of the listed numbers (except won ones) move to state ``dnc`` with a
    history row.
    """
    from telesales.leads.rules import ruleset_in_force

    _check_actor(actor)
    if source not in DncSource.values:
        raise ValidationFailed(_("Unknown source"), fields={"source": [_("unknown source")]})
    if permanent and days:
        raise ValidationFailed(
            _("Either a number of days or permanent, not both"), fields={"days": [_("not both")]}
        )
    if days is not None and not 1 <= days <= 36500:
        raise ValidationFailed(_("Invalid duration"), fields={"days": [_("1 to 36500 days")]})
    path, sha256, size, original = _store_file(file, file_name)
    try:
        table = _open_source(path)
        numbers, blank, invalid_rows, rows = _dnc_numbers(table)
    finally:
        path.unlink(missing_ok=True)
    now = timezone.now()
    expires = None if permanent else now + dt.timedelta(days=days or ruleset_in_force().dnc_days)
    created_by = user_or_none(actor)
    added = already = blocked = superseded = 0
    unique: dict[str, str] = {}
    for e164 in numbers:
        unique.setdefault(phone_hash(e164), e164)
    already += len(numbers) - len(unique)
    try:
        with transaction.atomic():
            added, already, blocked, superseded = _dnc_import_entries(
                unique,
                already=already,
                now=now,
                expires=expires,
                source=source,
                reason=reason,
                permanent=permanent,
                actor=actor,
                created_by=created_by,
            )
            result = DncImportResult(
                rows=rows,
                added=added,
                invalid=len(invalid_rows),
                already_listed=already,
                blank_rows=blank,
                leads_blocked=blocked,
                invalid_rows=invalid_rows,
            )
            audit_record(
                actor=actor,
                action="leads.dnc_import",
                object_type="leads.dncentry",
                object_repr=original[:200],
                after={
                    **result.as_dict(),
                    "invalid_rows": result.invalid_rows[:20],
                    "superseded": superseded,
                    "sha256": sha256,
                    "bytes": size,
                    "source": source,
                    "expires_at": expires,
                    "permanent": permanent,
                },
                reason=reason,
            )
    except IntegrityError:
        # One entry in force per number: someone listed one of these numbers meanwhile.
        raise Conflict(
            _("The do-not-call list changed while the file was read; import it again.")
        ) from None
    return result


def _dnc_import_entries(
    unique: dict[str, str],
    *,
    already: int,
    now: dt.datetime,
    expires: dt.datetime | None,
    source: str,
    reason: str,
    permanent: bool,
    actor,
    created_by,
) -> tuple[int, int, int, int]:
    """Add the entries of ``unique`` (hash → E.164) and block their leads: (added, already
    listed, leads blocked, shorter entries superseded). The caller holds the transaction."""
    from telesales.leads.services import dnc_active_q, dnc_lapsed_close, lead_events_record

    added = blocked = superseded = 0
    hashes = list(unique)
    for start in range(0, len(hashes), 900):
        chunk = hashes[start : start + 900]
        dnc_lapsed_close(chunk, now=now)
        covered = DncEntry.objects.filter(dnc_active_q(now), phone_hash__in=chunk)
        covered = covered.filter(_covers_until(expires))
        listed = set(covered.values_list("phone_hash", flat=True))
        already += len(listed)
        new = [h for h in chunk if h not in listed]
        # A shorter block in force makes way for this one (one entry per number).
        superseded += DncEntry.objects.filter(phone_hash__in=new, removed_at__isnull=True).update(
            removed_at=now, updated_at=now
        )
        DncEntry.objects.bulk_create(
            [
                DncEntry(
                    phone_hash=h,
                    phone_masked=mask_phone(unique[h]),
                    source=source,
                    reason=reason[:200],
                    expires_at=expires,
                    created_by=created_by,
                )
                for h in new
            ],
            batch_size=1000,
        )
        added += len(new)
        if permanent:
            Customer.objects.filter(mobile_hash__in=chunk).update(no_marketing=True)
        leads = list(
            Lead.objects.filter(customer__mobile_hash__in=chunk).exclude(
                state__in=[LeadState.WON, LeadState.DNC]
            )
        )
        if leads:
            previous = {lead.pk: lead.owner_id for lead in leads}
            Lead.objects.filter(pk__in=list(previous)).update(
                state=LeadState.DNC, owner=None, protect_until=None, updated_at=now
            )
            lead_events_record(
                leads=leads,
                action=LeadAction.DNC,
                actor=actor if not isinstance(actor, str) else None,
                to_state=LeadState.DNC,
                from_owner_ids=previous,
                reason=reason or source,
                at=now,
            )
            blocked += len(leads)
    return added, already, blocked, superseded


def _covers_until(expires: dt.datetime | None):
    """Entries that block at least until ``expires`` (within a day: importing the same
    list again a moment later must not add it twice)."""
    from django.db.models import Q

    if expires is None:
        return Q(expires_at__isnull=True)
    return Q(expires_at__isnull=True) | Q(expires_at__gte=expires - dt.timedelta(days=1))


def _dnc_numbers(source: _Source) -> tuple[list[str], int, list[int], int]:
    """(valid numbers in E.164, blank rows, invalid row numbers, rows)."""
    column: int | None = None
    numbers: list[str] = []
    invalid_rows: list[int] = []
    blank = rows = 0
    header_seen = False
    for row_no, cells, undecodable in source.rows():
        if _is_blank(cells, source.text_cells):
            blank += 1
            continue
        if column is None:
            mapping = _auto_map(cells)
            named = next((i for i, f in mapping.columns.items() if f == "mobile"), None)
            if named is not None:
                # The header, also below a title row ("禁呼名单") that named nothing.
                column, header_seen = named, True
                continue
            found = _phone_cells(cells)
            if found:
                column = found[0]
            elif not header_seen and not any(ch.isdigit() for c in cells for ch in _cell_text(c)):
                header_seen = True  # a header row without a recognised name
                continue
            else:
                column = 0
        rows += 1
        value = cells[column] if column < len(cells) else None
        result = normalise_phone(value) if not undecodable else None
        if result is None or result.e164 is None:
            invalid_rows.append(row_no)
        else:
            numbers.append(result.e164)
    if rows == 0:
        raise ImportRefused(_("The file holds no numbers."))
    return numbers, blank, invalid_rows, rows
