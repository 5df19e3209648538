"""Import call detail records (CDRs) from the switch and match them to call attempts.

The layout is Asterisk's ``Master.csv`` (``cdr_csv``), with or without a header row::

    accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata,
    start, answer, end, duration, billsec, disposition, amaflags, uniqueid, userfield

A header, when present, may hold these names in any order and may leave some out (it needs
at least ``dst``, ``start``, ``end`` and ``billsec``); a name outside the list is an error and
nothing is applied (``peeraccount``, ``linkedid`` and ``sequence``, which ``newcdrcolumns``
adds, are known and ignored). Without a header a row must have one of the layouts ``cdr_csv``
writes (``LAYOUTS``): the 16 columns of its default (no ``uniqueid``: rows match by number and
time), the 18 above (``loguniqueid`` and ``loguserfield`` on), or either followed by the three
newer columns (19, 21).
Times are the switch's local time (``TIME_ZONE`` unless told otherwise).

Matching, per row:

1. ``uniqueid`` equals an attempt's ``adapter_call_id`` (the id the adapter returned when it
   placed the call): that attempt;
2. else the attempt of the same customer number (compared by keyed hash: the number itself is
   never stored, logged or shown) that started within ``match_seconds`` of ``start``, narrowed
   to the agent's extension (``src``, or the ``channel`` such as ``PJSIP/8001-0000002a``,
   against the seat's ``phone_line``) when several match.

A match the row contradicts is rejected as ``conflict``, with the reason: the row's ``dst``
(normalised to E.164) is not the call's customer number, or the extension of its ``channel``
(``PJSIP/8001-…`` → ``8001``; digits only) is not the line of the call's seat (else the
agent's seat). Whatever the row leaves out is not held against it.

A matched attempt takes the CDR's answer and end times, ``billsec`` as its talk seconds, the
CDR disposition and ``cdr_matched_at``. The import is idempotent: a row matched before is
counted as ``already`` and changes nothing. Rows that cannot be matched are rejected one by
one, with the row number, a reason and the masked destination.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.calls import permissions
from telesales.calls.choices import CdrRejectReason
from telesales.calls.errors import CdrLayoutUnknown
from telesales.calls.models import CallAttempt, CdrImport
from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.phone_numbers import mask_phone, normalise_phone, phone_hash
from telesales.leads.masking import mask_numbers_in

COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
)
#: What ``newcdrcolumns = yes`` in ``cdr.conf`` appends to each row.
NEW_COLUMNS = ("peeraccount", "linkedid", "sequence")
#: The layouts of a file without a header, by their number of columns: Asterisk's default
#: (``loguniqueid`` and ``loguserfield`` off: 16), with both on (18), and either with the
#: newer columns (19, 21). Without ``uniqueid`` rows are matched by number and time.
LAYOUTS = {
    16: COLUMNS[:16],
    18: COLUMNS,
    19: COLUMNS[:16] + NEW_COLUMNS,
    21: COLUMNS + NEW_COLUMNS,
}
REQUIRED = ("dst", "start", "end", "billsec")
DEFAULT_MATCH_SECONDS = 120
MAX_BYTES_DEFAULT = 50 * 1024 * 1024
#: Matches applied per transaction.
APPLY_CHUNK = 500
#: Rejections kept on the import's record (``rejected`` counts them all).
REJECTIONS_KEPT = 5000
_DATE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S")


@dataclass
class CdrRow:
    number: int
    values: dict[str, str]
    start: dt.datetime | None = None
    answer: dt.datetime | None = None
    end: dt.datetime | None = None
    billsec: int = 0
    dst_hash: str = ""
    dst_masked: str = ""
    extension: str = ""
    channel_extension: str = ""


@dataclass
class _Plan:
    rows: int = 0
    apply: list[tuple[CdrRow, CallAttempt]] = field(default_factory=list)
    already: int = 0
    rejections: list[dict] = field(default_factory=list)

    def reject(self, row: CdrRow, reason: str, detail: str = "") -> None:
        self.rejections.append(
            {
                "row": row.number,
                "reason": reason,
                "label": str(CdrRejectReason(reason).label),
                "dst": row.dst_masked,
                "detail": mask_numbers_in(detail)[:200],
            }
        )


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CdrLayoutUnknown(_("The file is neither UTF-8 nor GBK text"))


def _read_rows(text: str) -> tuple[tuple[str, ...], list[tuple[int, list[str]]]]:
    """The column names and the data rows (row number, cells). Raises on an unknown layout."""
    reader = csv.reader(io.StringIO(text))
    raw = [(i, row) for i, row in enumerate(reader, start=1) if any(c.strip() for c in row)]
    if not raw:
        raise CdrLayoutUnknown(_("The file holds no CDR rows"))
    first = [c.strip().lower() for c in raw[0][1]]
    # A data row always has a start time; a header row has none.
    looks_like_header = not any(_DATE.search(c) for c in first)
    if looks_like_header:
        unknown = [c for c in first if c not in COLUMNS and c not in NEW_COLUMNS]
        if unknown:
            shown = ", ".join(mask_numbers_in(c)[:30] or "''" for c in unknown[:10])
            raise CdrLayoutUnknown(
                _(
                    "Unknown columns in the header: %(cols)s. "
                    "Expected Asterisk Master.csv columns: %(known)s"
                )
                % {"cols": shown, "known": ", ".join(COLUMNS)},
                details={"unknown_columns": [mask_numbers_in(c)[:30] for c in unknown[:50]]},
            )
        duplicated = sorted({c for c in first if first.count(c) > 1})
        if duplicated:
            raise CdrLayoutUnknown(
                _("Columns named twice: %(cols)s") % {"cols": ", ".join(duplicated)}
            )
        missing = [c for c in REQUIRED if c not in first]
        if missing:
            raise CdrLayoutUnknown(
                _("The header lacks the columns %(cols)s") % {"cols": ", ".join(missing)},
                details={"missing_columns": missing},
            )
        return tuple(first), raw[1:]
    layout = LAYOUTS.get(len(raw[0][1]))
    if layout is None:
        raise CdrLayoutUnknown(
            _(
                "Without a header a row must have the columns of Asterisk's Master.csv: 16 "
                "(the default), 18 (with loguniqueid and loguserfield = yes in cdr.conf, which "
                "lets rows match by call id), or 19 or 21 (with newcdrcolumns); the first row "
                "has %(got)d"
            )
            % {"got": len(raw[0][1])},
            details={"expected_columns": list(COLUMNS), "column_counts": sorted(LAYOUTS)},
        )
    return layout, raw


def _parse_time(value: str, zone: dt.tzinfo) -> dt.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ValueError(value)


_CHANNEL_SEQUENCE = re.compile(r"-[0-9a-fA-F]{6,}$")


def _channel_extension(channel: str) -> str:
    """``PJSIP/8001-0000002a`` (or ``SIP/8001``, ``Local/8001@from-internal``) → ``8001``;
    an endpoint named with a hyphen keeps it (``PJSIP/line-0001-0000abcd`` → ``line-0001``):
    only the channel's sequence number after the last hyphen goes."""
    channel = (channel or "").strip()
    if "/" not in channel:
        return ""
    name = channel.split("/", 1)[1].split("@", 1)[0].strip()
    return _CHANNEL_SEQUENCE.sub("", name)


def _extension(values: dict[str, str]) -> str:
    src = (values.get("src") or "").strip()
    if src and src.isdigit() and len(src) <= 8:
        return src
    return _channel_extension(values.get("channel") or "")


def _line_of(attempt: CallAttempt) -> str:
    """The extension the call was made from: its seat's line, else the agent's seat's."""
    seat = attempt.seat if attempt.seat_id else getattr(attempt.agent, "seat", None)
    line = (getattr(seat, "phone_line", "") or "").strip()
    return _channel_extension(line) if "/" in line else line


def _contradiction(row: CdrRow, attempt: CallAttempt) -> str:
    """Why the row cannot be the record of ``attempt`` (empty: it agrees, as far as it says)."""
    if row.dst_hash and row.dst_hash != attempt.lead.customer.mobile_hash:
        return _("the number dialled (%(dst)s) is not the customer number of call #%(id)d") % {
            "dst": row.dst_masked,
            "id": attempt.pk,
        }
    line = _line_of(attempt)
    extension = row.channel_extension
    if extension and line and extension.casefold() != line.casefold():
        return _(
            "extension %(ext)s on the switch is not the line %(line)s call #%(id)d was made from"
        ) % {"ext": row.channel_extension, "line": line, "id": attempt.pk}
    return ""


def _parse(row: CdrRow, zone: dt.tzinfo, plan: _Plan) -> bool:
    v = row.values
    dst = (v.get("dst") or "").strip()
    result = normalise_phone(dst) if dst else None
    if result is not None and result.e164:
        row.dst_hash = phone_hash(result.e164)
        row.dst_masked = mask_phone(result.e164)
    else:
        row.dst_masked = "***" if dst else ""
    try:
        row.start = _parse_time(v.get("start", ""), zone)
        row.answer = _parse_time(v.get("answer", ""), zone)
        row.end = _parse_time(v.get("end", ""), zone)
    except ValueError:
        plan.reject(row, CdrRejectReason.BAD_TIME, _("unreadable start, answer or end"))
        return False
    if row.start is None or row.end is None or row.end < row.start:
        plan.reject(row, CdrRejectReason.BAD_TIME, _("start and end are required, end ≥ start"))
        return False
    try:
        row.billsec = int((v.get("billsec") or "0").strip() or 0)
    except ValueError:
        plan.reject(row, CdrRejectReason.BAD_ROW, _("billsec is not a number"))
        return False
    if not 0 <= row.billsec <= 86_400:
        plan.reject(row, CdrRejectReason.BAD_ROW, _("billsec out of range"))
        return False
    if (v.get("disposition") or "").strip().upper() != "ANSWERED" or row.billsec == 0:
        row.answer = row.answer if row.billsec else None
    row.extension = _extension(v)
    row.channel_extension = _channel_extension(v.get("channel") or "")
    return True


#: What matching and its checks read of an attempt.
_RELATED = ("seat", "agent__seat", "lead__customer")


#: Keys per ``IN (…)`` query when the calls a file may name are read (SQLite's limit is 999).
_READ_CHUNK = 500


class _Calls:
    """The calls a file's rows may name, read in a few queries before matching (QA, session
    20: two queries per row made a month's 50,000-row file take nine minutes): by the id the
    adapter returned, and by the customer's number hash within the window around the file's
    first and last start."""

    def __init__(self, rows: list[CdrRow], window: timedelta) -> None:
        self.by_id: dict[str, CallAttempt] = {}
        self.by_hash: dict[str, list[CallAttempt]] = {}
        ids = sorted({u for row in rows if (u := (row.values.get("uniqueid") or "").strip())})
        for start in range(0, len(ids), _READ_CHUNK):
            for attempt in CallAttempt.objects.select_related(*_RELATED).filter(
                adapter_call_id__in=ids[start : start + _READ_CHUNK]
            ):
                self.by_id.setdefault(attempt.adapter_call_id, attempt)
        starts = [row.start for row in rows if row.start is not None and row.dst_hash]
        if not starts:
            return
        first, last = min(starts) - window, max(starts) + window
        hashes = sorted({row.dst_hash for row in rows if row.dst_hash})
        for start in range(0, len(hashes), _READ_CHUNK):
            for attempt in (
                CallAttempt.objects.select_related(*_RELATED)
                .filter(
                    lead__customer__mobile_hash__in=hashes[start : start + _READ_CHUNK],
                    started_at__gte=first,
                    started_at__lte=last,
                )
                .order_by("started_at", "id")
            ):
                self.by_hash.setdefault(attempt.lead.customer.mobile_hash, []).append(attempt)
        for found in self.by_hash.values():
            found.sort(key=lambda a: (a.started_at, a.pk))

    def near(self, row: CdrRow, window: timedelta) -> list[CallAttempt]:
        """The calls to the row's number that started within ``window`` of its start."""
        assert row.start is not None
        low, high = row.start - window, row.start + window
        return [a for a in self.by_hash.get(row.dst_hash, ()) if low <= a.started_at <= high]


def _match(row: CdrRow, window: timedelta, plan: _Plan, calls: _Calls) -> CallAttempt | None:
    uniqueid = (row.values.get("uniqueid") or "").strip()
    if uniqueid:
        found = calls.by_id.get(uniqueid)
        if found is not None:
            return found
    if not row.dst_hash:
        plan.reject(row, CdrRejectReason.UNMATCHED, _("no call id match and no valid number"))
        return None
    candidates = calls.near(row, window)
    if len(candidates) > 1 and row.extension:
        by_line = [c for c in candidates if c.seat and c.seat.phone_line == row.extension]
        candidates = by_line or candidates
    if len(candidates) > 1:
        fresh = [c for c in candidates if c.cdr_matched_at is None]
        candidates = fresh if len(fresh) == 1 else candidates
    if not candidates:
        # A call dialled outside the system, or one the app never placed (QA: no hint at all).
        assert row.start is not None
        plan.reject(
            row,
            CdrRejectReason.UNMATCHED,
            _("no call to this number started within %(s)d seconds of %(start)s")
            % {
                "s": int(window.total_seconds()),
                "start": row.start.strftime("%Y-%m-%d %H:%M:%S"),
            },
        )
        return None
    if len(candidates) > 1:
        plan.reject(row, CdrRejectReason.AMBIGUOUS, _("%(n)d calls match") % {"n": len(candidates)})
        return None
    return candidates[0]


def _same_cdr(attempt: CallAttempt, row: CdrRow) -> bool:
    uniqueid = (row.values.get("uniqueid") or "").strip()
    if uniqueid and attempt.adapter_call_id == uniqueid:
        return True
    # Matched by number and time (the switch's id is not the adapter's): the same CDR when it
    # says what the call took from it (QA: a second import of such a file was 200 conflicts).
    return attempt.cdr_billsec == row.billsec and attempt.ended_at == max(
        row.end or attempt.started_at, attempt.answered_at or attempt.started_at
    )


def cdr_plan(content: bytes, *, zone: dt.tzinfo, match_seconds: int) -> _Plan:
    """Read and match every row; nothing is written."""
    columns, raw = _read_rows(_decode(content))
    plan = _Plan()
    window = timedelta(seconds=match_seconds)
    taken: dict[int, int] = {}
    parsed: list[CdrRow] = []
    for number, cells in raw:
        plan.rows += 1
        row = CdrRow(number=number, values={})
        if len(cells) != len(columns):
            plan.reject(
                row,
                CdrRejectReason.BAD_ROW,
                _("%(got)d columns, expected %(n)d") % {"got": len(cells), "n": len(columns)},
            )
            continue
        row.values = dict(zip(columns, cells, strict=True))
        if _parse(row, zone, plan):
            parsed.append(row)
    calls = _Calls(parsed, window)
    # The rejections in file order (a row rejected while read before one matched later).
    for row in parsed:
        attempt = _match(row, window, plan, calls)
        if attempt is None:
            continue
        why = _contradiction(row, attempt)
        if why:
            plan.reject(row, CdrRejectReason.CONFLICT, why)
            continue
        if attempt.cdr_matched_at is not None:
            if _same_cdr(attempt, row):
                plan.already += 1
            else:
                plan.reject(row, CdrRejectReason.CONFLICT, _("call #%(id)d") % {"id": attempt.pk})
            continue
        if attempt.pk in taken:
            plan.reject(
                row,
                CdrRejectReason.CONFLICT,
                _("call #%(id)d is matched by row %(row)d too")
                % {"id": attempt.pk, "row": taken[attempt.pk]},
            )
            continue
        taken[attempt.pk] = row.number
        plan.apply.append((row, attempt))
    plan.rejections.sort(key=lambda rejection: rejection["row"])
    return plan


def _apply(row: CdrRow, attempt: CallAttempt, now: dt.datetime) -> None:
    assert row.end is not None
    answered = max(row.answer, attempt.started_at) if row.answer else None
    ended = max(row.end, answered or attempt.started_at, attempt.started_at)
    attempt.answered_at = answered
    attempt.ended_at = ended
    attempt.talk_seconds = row.billsec
    attempt.talk_capped = False  # the switch's own figure replaces a capped estimate
    attempt.cdr_billsec = row.billsec
    attempt.cdr_disposition = (row.values.get("disposition") or "").strip()[:20]
    attempt.cdr_matched_at = now
    uniqueid = (row.values.get("uniqueid") or "").strip()[:100]
    fields = [
        "answered_at",
        "ended_at",
        "talk_seconds",
        "talk_capped",
        "cdr_billsec",
        "cdr_disposition",
        "cdr_matched_at",
        "updated_at",
    ]
    if (
        uniqueid
        and not attempt.adapter_call_id
        and not CallAttempt.objects.filter(adapter_call_id=uniqueid).exists()
    ):
        attempt.adapter_call_id = uniqueid
        fields.append("adapter_call_id")
    attempt.save(update_fields=fields)


def cdr_import(
    *,
    content: bytes,
    file_name: str = "",
    actor,
    zone: str | dt.tzinfo | None = None,
    match_seconds: int | None = None,
) -> CdrImport:
    """Import one CDR file (see the module doc). A file that is not in the layout raises
    ``cdr_layout_unknown`` and changes nothing; per-row problems are rejections."""
    if actor is not None and not isinstance(actor, str) and not permissions.can_import_cdr(actor):
        raise PermissionDenied(_("Only the data officer or the manager imports CDR files"))
    limit = int(
        getattr(settings, "TELESALES_IMPORT_MAX_BYTES", MAX_BYTES_DEFAULT) or MAX_BYTES_DEFAULT
    )
    if len(content) > limit:
        raise ValidationFailed(
            _("The file is too large"), fields={"file": [_("at most %(n)d bytes") % {"n": limit}]}
        )
    if isinstance(zone, str):
        try:
            zone = ZoneInfo(zone)
        except (KeyError, ValueError) as exc:
            raise ValidationFailed(_("Unknown time zone"), fields={"tz": [_("unknown")]}) from exc
    zone = zone or timezone.get_default_timezone()
    seconds = DEFAULT_MATCH_SECONDS if match_seconds is None else int(match_seconds)
    if not 0 <= seconds <= 3600:
        raise ValidationFailed(
            _("The match window is 0 to 3600 seconds"), fields={"match_seconds": [_("0–3600")]}
        )
    # Reading and matching write nothing and take no lock; the matches are applied a chunk
    # per transaction, so that the center's other writes go on between them (on SQLite one
    # transaction over a whole month's file locked every agent out for minutes; QA, session
    # 20). Each chunk re-reads its calls under lock; an import stopped half-way leaves the
    # rows it applied, and the same file imported again counts them as ``already``.
    plan = cdr_plan(content, zone=zone, match_seconds=seconds)
    now = timezone.now()
    applied = 0
    for start in range(0, len(plan.apply), APPLY_CHUNK):
        chunk = plan.apply[start : start + APPLY_CHUNK]
        with transaction.atomic():
            locked = CallAttempt.objects.select_for_update().in_bulk([a.pk for _r, a in chunk])
            for row, attempt in chunk:
                fresh = locked.get(attempt.pk)
                if fresh is None or fresh.cdr_matched_at is not None:
                    plan.already += 1
                    continue
                _apply(row, fresh, now)
                applied += 1
    with transaction.atomic():
        record = CdrImport.objects.create(
            file_name=Path(file_name or "").name[:255],
            file_sha256=hashlib.sha256(content).hexdigest(),
            rows=plan.rows,
            matched=applied,
            already=plan.already,
            rejected=len(plan.rejections),
            rejections=plan.rejections[:REJECTIONS_KEPT],
            created_by=user_or_none(actor),
        )
        audit_record(
            actor=actor or "cli",
            action="calls.cdr_import",
            instance=record,
            after={
                "rows": record.rows,
                "matched": record.matched,
                "already": record.already,
                "rejected": record.rejected,
            },
        )
    return record
