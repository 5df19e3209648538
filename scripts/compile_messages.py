#!/usr/bin/env python3
"""Compile the translation catalogues without GNU gettext, and check them in CI.

    python scripts/compile_messages.py            # write every django.mo next to its django.po
    python scripts/compile_messages.py --check    # change nothing; exit 1 on any problem

Every ``telesales/locale/<lang>/LC_MESSAGES/django.po`` is compiled with ``polib``. The compiled
``.mo`` files are kept in the repository because most users have no ``msgfmt``.

``--check`` reports a problem when a ``.mo`` is missing or does not hold exactly what its
``.po`` compiles to, when an entry is untranslated or fuzzy, or when a translation drops or adds
a ``%(name)s`` placeholder. Tests call :func:`check` directly.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "telesales" / "locale"
RUNTIME_HEADERS = ("Language", "Content-Type", "Plural-Forms")

# %(name)s, %s, %d ... as Python's %-formatting reads them; "%%" is a literal percent sign.
_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]+)\))?[#0 +-]*\d*(?:\.\d+)?(?P<conv>[sdifrxXeEgGco%])"
)


def po_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every ``django.po`` under ``locale_dir``, in a stable order."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/django.po"))


def _mo_path(po_path: Path) -> Path:
    return po_path.with_suffix(".mo")


def _placeholders(text: str) -> list[str]:
    found = []
    for match in _PLACEHOLDER.finditer(text):
        if match.group("conv") == "%":
            continue
        found.append(match.group("name") or f"%{match.group('conv')}")
    return sorted(found)


def _catalogue(entries: Iterable[polib._BaseEntry], metadata: dict) -> dict:
    """What a compiled catalogue means: the header plus every translated message."""
    messages = {}
    for e in entries:
        key = (e.msgctxt or "", e.msgid, e.msgid_plural or "")
        if e.msgid_plural:
            value = tuple(e.msgstr_plural[i] for i in sorted(e.msgstr_plural))
        else:
            value = e.msgstr
        messages[key] = value
    # Only the header fields that change how Django reads the catalogue: msgfmt, for one,
    # leaves out POT-Creation-Date, and that must not make a good .mo look stale.
    header = {k: metadata.get(k, "") for k in RUNTIME_HEADERS}
    return {"metadata": header, "messages": messages}


def _compiled_catalogue(po: polib.POFile) -> dict:
    return _catalogue(po.translated_entries(), po.metadata)


def _mo_catalogue(mo_path: Path) -> dict:
    mo = polib.mofile(str(mo_path))
    return _catalogue([e for e in mo if e.msgid], mo.metadata)


def po_problems(po_path: Path) -> list[str]:
    """Untranslated, fuzzy or placeholder-breaking entries of one ``.po`` file."""
    po = polib.pofile(str(po_path))
    where = po_path.relative_to(ROOT) if po_path.is_relative_to(ROOT) else po_path
    problems = []
    if po.metadata_is_fuzzy:
        problems.append(f"{where}: the header is marked fuzzy")
    if "Plural-Forms" not in po.metadata:
        problems.append(f"{where}: the header has no Plural-Forms")
    for e in po:
        if e.obsolete:
            continue
        label = f"{where}:{e.linenum}: msgid {e.msgid!r}"
        if e.fuzzy:
            problems.append(f"{label} is fuzzy")
        if e.msgid_plural:
            translations = [e.msgstr_plural[i] for i in sorted(e.msgstr_plural)]
        else:
            translations = [e.msgstr]
        if not translations or any(not t.strip() for t in translations):
            problems.append(f"{label} is not translated")
            continue
        if "python-format" in e.flags:
            expected = _placeholders(e.msgid)
            expected_plural = _placeholders(e.msgid_plural) if e.msgid_plural else expected
            for t in translations:
                got = _placeholders(t)
                # A Chinese plural form may drop the count; it must not invent or lose names.
                if got != expected and got != expected_plural:
                    problems.append(f"{label}: placeholders {got} in {t!r} do not match {expected}")
    return problems


def mo_problems(po_path: Path) -> list[str]:
    """Is the ``.mo`` beside ``po_path`` present and exactly what the ``.po`` compiles to?"""
    mo_path = _mo_path(po_path)
    where = mo_path.relative_to(ROOT) if mo_path.is_relative_to(ROOT) else mo_path
    if not mo_path.exists():
        return [f"{where} is missing; run 'make messages'"]
    po = polib.pofile(str(po_path))
    if mo_path.read_bytes() == po.to_binary():
        return []
    try:
        same = _mo_catalogue(mo_path) == _compiled_catalogue(po)
    except (OSError, ValueError) as exc:
        return [f"{where} cannot be read ({exc}); run 'make messages'"]
    return [] if same else [f"{where} is out of date with its .po; run 'make messages'"]


def check(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every problem with the catalogues under ``locale_dir``; an empty list means all good."""
    paths = po_files(locale_dir)
    if not paths:
        return [f"no django.po files under {locale_dir}"]
    problems: list[str] = []
    for po_path in paths:
        problems += po_problems(po_path)
        problems += mo_problems(po_path)
    return problems


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write ``django.mo`` beside every ``django.po``; return the ``.mo`` files written."""
    written = []
    for po_path in po_files(locale_dir):
        po = polib.pofile(str(po_path))
        mo_path = _mo_path(po_path)
        data = po.to_binary()
        if not mo_path.exists() or mo_path.read_bytes() != data:
            mo_path.write_bytes(data)
        written.append(mo_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a .mo is missing or stale or a message is untranslated",
    )
    parser.add_argument(
        "--locale-dir", type=Path, default=LOCALE_DIR, help="default: telesales/locale"
    )
    args = parser.parse_args(argv)
    locale_dir = args.locale_dir.resolve()
    if args.check:
        problems = check(locale_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"{len(problems)} translation problem(s) found.", file=sys.stderr)
            return 1
        print(f"Translations OK ({len(po_files(locale_dir))} catalogue(s)).")
        return 0
    # Compiling still reports untranslated or fuzzy entries, which the .mo leaves out.
    for problem in check(locale_dir):
        if "out of date" not in problem and "is missing" not in problem:
            print(f"warning: {problem}", file=sys.stderr)
    for mo_path in compile_all(locale_dir):
        shown = mo_path.relative_to(ROOT) if mo_path.is_relative_to(ROOT) else mo_path
        print(f"compiled {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
