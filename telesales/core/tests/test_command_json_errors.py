"""Commands with ``--json`` keep their promise when they refuse: stdout's last line is one
JSON object ``{"error": {code, message}}`` and the command still fails (``JsonErrors``)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

pytestmark = pytest.mark.django_db


def _refused(*args):
    out = StringIO()
    with translation.override("en"), pytest.raises(CommandError) as exc:
        call_command(*args, stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    return json.loads(last)["error"], str(exc.value)


def test_a_cdr_file_in_another_layout_answers_json_with_the_domain_code(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"who,what\n1,2\n")
    error, message = _refused("cdr_import", str(path), "--json")
    assert error["message"] == message and "Unknown columns" in message
    assert error["code"] == "cdr_layout_unknown"  # the domain error's own code


@pytest.mark.parametrize("command", ["cdr_import", "dnc_import", "receipts_import", "leads_import"])
def test_a_missing_file_answers_json_too(tmp_path, command):
    missing = str(tmp_path / "nowhere.csv")
    extra = ["--channel", "x", "--batch", "y"] if command == "leads_import" else []
    error, message = _refused(command, missing, *extra, "--json")
    # The command's own refusal (command_error) or the import service's (dnc: import_refused).
    assert error["message"] == message and "nowhere.csv" in message
    assert error["code"] in {"command_error", "import_refused"}


def test_without_json_a_refusal_prints_no_json(tmp_path):
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("cdr_import", str(tmp_path / "nowhere.csv"), stdout=out)
    assert out.getvalue().strip() == ""
