"""Every export neutralises a cell a spreadsheet would run as a formula, ``-`` included.

``-2+3+cmd|' /C calc'!A0`` starts with a minus and a digit; Excel still evaluates it (a DDE
call). Exports let a text through when its second character was a digit (the lists' CSV) or
knew ``-`` not at all (the dashboard's tables never escaped it while the lists did, or the
other way round): one rule, app.core.normalize.looks_like_formula, now serves them all.
"""
from __future__ import annotations

import csv
import io

import pytest

from app.core.normalize import escape_formula, unescape_formula
from app.extensions import db
from app.services.reports.table_export import to_csv
from app.views.csv_export import cell

from .conftest import ADMIN, HOSPITAL_A, login_as, user_by_email

DDE = "-2+3+cmd|' /C calc'!A0"


@pytest.mark.parametrize("text", [DDE, "-1+1", "-A1", "=1+1", "+1", "@SUM(A1)", "\t=1"])
def test_formula_texts_are_escaped_everywhere(text):
    assert cell(text) == "'" + text
    header, row = csv.reader(io.StringIO(to_csv([text], [[text]]).decode("utf-8-sig")))
    assert header == row == ["'" + text]
    assert unescape_formula(escape_formula(text)) == text  # an export read back is unchanged


@pytest.mark.parametrize("text", ["-5", "-1,234.5", "-12%", "-", "ICU", "5-A"])
def test_numbers_and_plain_text_stay_as_they_are(text):
    assert cell(text) == text
    assert list(csv.reader(io.StringIO(to_csv(["h"], [[text]]).decode("utf-8-sig"))))[1] == [text]


def test_user_list_csv_escapes_a_name_starting_with_minus(client, ctx):
    user = user_by_email(HOSPITAL_A)
    user.first_name = DDE
    db.session.commit()
    login_as(client, ADMIN)
    rows = list(csv.reader(io.StringIO(client.get("/users/export.csv").data.decode("utf-8-sig"))))
    assert ["'" + DDE] == [value for row in rows for value in row if DDE in value]
