"""The dashboard's services are told the reader's language; they never ask the request.

A job, a mail or a script (no request at all) gets the English cards and rows by passing an
English Wording, and Japanese by default; the screen and the API pass their reader's."""
from __future__ import annotations

from app.services.reports import dashboard as board
from app.services.reports.definitions import LENDING_FIGURES, unit_label
from app.services.stored_messages import Wording


def _scope() -> dict:
    """A stored scope with every figure of ① and ②: 120 now, 100 a month and a year before."""
    rows = {section: [{"key": f.key, "value": 120, "previous": 100, "last_year": 100, "mean_12": 100.0,
                       "trend": [100] * 12 + [120]} for f in figures.values()]
            for section, figures in board.FIGURES.items()}
    return {"key": "all", "name": "全機器", **rows}


def test_cards_and_rows_follow_the_language_passed_without_a_request(app):
    data = {"scopes": [_scope()]}
    with app.app_context():
        english = Wording("en")
        cards = {c["key"]: c for c in board.cards(data, english)}
        rows = {r["key"]: r for r in board.rows_of(data["scopes"][0], "lending", english)}
        labels = board.labels(english)
    assert cards["lendings"]["label"] == "Lendings"
    assert cards["lendings"]["unit_label"] == " times"
    assert cards["lendings"]["previous"]["text"] == "+20 (+20.0%)"
    assert cards["lendings"]["definition"] == "lendings overlapping M"
    assert rows["lending_hours"]["label"] == "Lending hours (hours)" == labels["lending"]["lending_hours"]
    assert rows["utilization"]["label"] == "Utilization"


def test_japanese_is_the_default_and_needs_no_application():
    data = {"scopes": [_scope()]}
    cards = {c["key"]: c for c in board.cards(data)}
    rows = {r["key"]: r for r in board.rows_of(data["scopes"][0], "lending")}
    assert cards["lendings"]["label"] == "貸出回数"
    assert cards["lendings"]["unit_label"] == "回"
    assert cards["lendings"]["previous"]["text"] == "+20（+20.0%）"
    assert rows["lending_hours"]["label"] == "合計貸出時間（時間）"
    assert [f.label_in("en") for f in LENDING_FIGURES[:2]] == ["Devices (devices)", "Devices lent (devices)"]
    assert (unit_label("台"), unit_label("台", "en"), unit_label("%", "en")) == ("台", " devices", "%")
