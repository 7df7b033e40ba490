"""The ledger list's CSV export (screen 5), made to be uploaded again as a month's ledger.

Hospitals export the list, fix a few rows in Excel and upload the file on screen 3, so the
export is also an input file: every column the ingest reads (app/services/ingest/headers.py)
holds what the ingest would need to store the same value again, and every column that is
only for reading has a header the ingest does not read.

- 大分類 / 中分類 / 小分類: the device's classification from the ledger (its default, what
  an upload sets) as the hospital's path, level 1 to 3. A name alone is not enough: one
  name is often used under several parents (「その他」, 「汎用心電計」 at level 2), and a
  single 機器分類 column is read as a level-1 classification — uploading the list's display
  name there created the hospital's classifications again.
- 集計上の機器分類 (the effective classification, after a person's override on screen 5)
  and 元の機器分類 are for reading; the ingest never reads them. An override is kept
  across uploads (uploads only set the default): uploading the export, edited or not,
  never changes a device's override. Editing 集計上の機器分類 in Excel changes nothing — an
  override is changed on screen 5, with a reason kept in the device's history.
- 集計対象 and 変更あり are for reading too (the counts override is changed on screen 5).
- 最新の台帳にあり: a device marked × is not listed by the uploaded ledger (the ingest's
  ``listed`` field), so uploading the export does not put devices that the latest ledger
  dropped back into the month's ledger.
- Values starting like a formula are written with a leading apostrophe (app/views/
  csv_export.py); the ingest removes that apostrophe (app/services/ingest/values.py).

The same rows are also an Excel workbook (app/views/xlsx_export.py): text cells, so that
Excel keeps device numbers like 0000286061 and long serials as written, and date cells.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.extensions import db
from app.models import Classification
from app.services.ledger.listing import all_rows
from app.services.ledger.maintenance import LedgerFilter

LEVELS = 3


def header() -> list[str]:
    """The export's column headers, in the user's language; the ingest knows the headers of
    the columns it reads in both languages (headers.py)."""
    return [_("集計対象"), _("変更あり"), _("利用部門"), _("機器番号"), _("製品名"), _("モデル番号"),
            _("シリアル番号"), _("メーカー名"), _("納入日"), _("使用期限"), _("廃棄日"),
            _("大分類"), _("中分類"), _("小分類"), _("集計上の機器分類"), _("元の機器分類"),
            _("最新の台帳にあり"), _("直近12か月の実績あり")]


def classification_paths(hospital_id: int, ids) -> dict[int, tuple[str, ...]]:
    """Classification id → its names from level 1 down to it, for the hospital's own
    classifications and the common ones (one query for the tree, not one per device)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    nodes = {id_: (parent_id, name) for id_, parent_id, name in db.session.execute(
        select(Classification.id, Classification.parent_id, Classification.name)
        .where(or_(Classification.hospital_id == hospital_id, Classification.hospital_id.is_(None))))}
    paths = {}
    for id_ in wanted:
        names, node = [], id_
        while node is not None and node in nodes and len(names) < LEVELS:
            parent_id, name = nodes[node]
            names.append(name)
            node = parent_id
        paths[id_] = tuple(reversed(names))
    return paths


def as_date(iso: str | None) -> dt.date | None:
    """The list's dates are ISO text (its API's JSON); the exports write dates: the CSV the
    same ISO text, the Excel export a date cell."""
    return dt.date.fromisoformat(iso) if iso else None


def rows(hospital_id: int, flt: LedgerFilter) -> list[list]:
    """The rows of the list for ``flt`` (every page), in the order of :func:`header`."""
    found = all_rows(hospital_id, flt)
    paths = classification_paths(hospital_id, (r["default_classification_id"] for r in found))
    out = []
    for r in found:
        path = list(paths.get(r["default_classification_id"], ()))
        path += [None] * (LEVELS - len(path))
        out.append([r["counts"], r["overridden"], r["department"], r["device_number"], r["product_name"],
                    r["model_number"], r["serial_number"], r["maker_name"], as_date(r["delivered_on"]),
                    as_date(r["expires_on"]), as_date(r["disposed_on"]), *path, r["classification"],
                    r["default_classification"], r["in_latest_ledger"], r["has_activity"]])
    return out

