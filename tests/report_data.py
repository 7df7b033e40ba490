"""A small hand-made data set for the report tests (month under test: 2025-05, 744 h).

Devices of hospital H0001 (analysis level 1, automatic selection):
  D1 輸液ポンプ (level 2 under 輸液ポンプ類) TE-171, expires 2026-03-31
  D2 モニタ BSM-1, expired 2025-01-01
  D3 ledger class 輸液ポンプ, overridden to モニタ, BSM-1, no expiry
  D4 輸液ポンプ類 X-9, expires 2030-06-15 — no lending, no failure at all
  D5 輸液ポンプ類, override "does not count" — its lending must not count
One ledger, of 2024-05, lists D1–D5: it is in force for every month of the tests.
Lendings: L0 D2 04-10 00:00→04-11 00:00 (April only, 24 h); L1 D1 04-30 12:00→05-02 00:00
(12 h April, 24 h May); L2 D1 05-10 08:00→20:00 (12 h); L3 D2 05-31 18:00→06-01 06:00 (6 h
in May); L4 D3 05-20 00:00→not returned (288 h to the end of May); L5 D5 05-05→05-06;
LY D1 2024-05-01→2024-05-03 (48 h, a year before).
Failures: F1 D2 05-03 10:00→05-05 10:00 (48 h); F2 D1 04-29 00:00→05-01 06:00 (48 h April,
6 h May); F3 D2 05-30 00:00→not repaired (48 h to the end of May).
L4 and F3 were listed open by May's file, so they carry ``open_until`` = 2025-06-01 as the
ingest stores it (an open event counts up to the end of the last month that listed it
open, docs/figures.md): the hand-computed figures are the same as under the old "open runs
to the end of the month" rule for May, and they count nothing in June.
"""
from __future__ import annotations

import datetime as dt

from app.core.months import month_bounds
from app.extensions import db
from app.models import Classification, Equipment, Failure, Lending, Organization
from app.services.ledger.device_months import list_devices

MONTH = dt.date(2025, 5, 1)
LEDGER_MONTH = dt.date(2024, 5, 1)
T = dt.datetime


def hospital(code: str = "H0001") -> Organization:
    return db.session.query(Organization).filter_by(code=code).one()


def _class(hospital_id, name, level=1, parent=None):
    c = Classification(hospital_id=hospital_id, name=name, normalized_name=name, level=level,
                       parent_id=parent.id if parent else None)
    db.session.add(c)
    db.session.flush()
    return c


def _open_until(end, month):
    """An open event listed by ``month``'s file counts up to the end of that month."""
    return month_bounds(month)[1] if end is None else None


def make_dataset(code: str = "H0001", hyperlink_department: bool = False) -> dict:
    h = hospital(code)
    h.analysis_level, h.report_rank_count = 1, 5
    p1 = _class(h.id, "輸液ポンプ類")
    p2 = _class(h.id, "輸液ポンプ", level=2, parent=p1)
    q1 = _class(h.id, "モニタ")

    def device(number, cls, model, expires=None, **kw):
        e = Equipment(hospital_id=h.id, device_number=number, classification_id=cls.id,
                      model_number=model, maker_name="テストメーカー", product_name=f"製品{number}",
                      expires_on=expires, department_use="ME室", **kw)
        db.session.add(e)
        db.session.flush()
        return e

    d1 = device("D1", p2, "TE-171", dt.date(2026, 3, 31))
    d2 = device("D2", q1, "BSM-1", dt.date(2025, 1, 1))
    d3 = device("D3", p2, "BSM-1", None, override_classification_id=q1.id)
    d4 = device("D4", p1, "X-9", dt.date(2030, 6, 15))
    d5 = device("D5", p1, "TE-171", None, override_counts=False)
    d3.department_use = "救急外来"
    list_devices(db.session, h.id, LEDGER_MONTH, [d.id for d in (d1, d2, d3, d4, d5)])

    def lend(e, start, end, month, department=None):
        db.session.add(Lending(hospital_id=h.id, equipment_id=e.id, month=month, lent_at=start,
                               returned_at=end, department=department, open_until=_open_until(end, month)))

    april, may = dt.date(2025, 4, 1), MONTH
    lend(d2, T(2025, 4, 10), T(2025, 4, 11), april, "ICU")
    lend(d1, T(2025, 4, 30, 12), T(2025, 5, 2), april, "5階病棟")
    lend(d1, T(2025, 5, 10, 8), T(2025, 5, 10, 20), may,
         '=HYPERLINK("http://evil.example/","x")' if hyperlink_department else "5階病棟")
    lend(d2, T(2025, 5, 31, 18), T(2025, 6, 1, 6), may, "ICU")
    lend(d3, T(2025, 5, 20), None, may, None)
    lend(d5, T(2025, 5, 5), T(2025, 5, 6), may, "ICU")
    lend(d1, T(2024, 5, 1), T(2024, 5, 3), dt.date(2024, 5, 1), "5階病棟")

    def fail(e, start, end, month, text):
        db.session.add(Failure(hospital_id=h.id, equipment_id=e.id, month=month, failed_at=start,
                               repaired_at=end, description=text, open_until=_open_until(end, month)))

    fail(d2, T(2025, 5, 3, 10), T(2025, 5, 5, 10), may, "電源不良")
    fail(d1, T(2025, 4, 29), T(2025, 5, 1, 6), april, "アラーム異常")
    fail(d2, T(2025, 5, 30), None, may, "画面表示なし")
    db.session.commit()
    return {"hospital": h.id, "p1": p1.id, "p2": p2.id, "q1": q1.id,
            "devices": {e.device_number: e.id for e in (d1, d2, d3, d4, d5)}}
