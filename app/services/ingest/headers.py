"""Header row → canonical fields.

The hospital's saved :class:`~app.models.ColumnProfile` is tried first, then the synonym
table (the headers seen in real exports, DESIGN.md §7). Headers are compared by a key that
ignores width, case, spaces and punctuation. The header row is the row, among the first
few, that names the most known columns (exports often put a title above it).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from app.models import UploadType
from app.services.stored_messages import N_, joined, part, translated

LEDGER, LENDING, FAILURE = int(UploadType.ledger), int(UploadType.lending), int(UploadType.failure)

# (field, Japanese label, required) per upload type, in the order the mapping screen shows.
CANONICAL_FIELDS: dict[int, list[tuple[str, str, bool]]] = {
    LEDGER: [
        ("device_number", N_("機器番号"), True),
        ("department_use", N_("利用部門"), False),
        ("department_manage", N_("管理部門"), False),
        ("department_purchase", N_("購入部門"), False),
        ("product_name", N_("製品名"), False),
        ("model_number", N_("モデル番号（型番）"), False),
        ("maker_name", N_("メーカー名"), False),
        ("serial_number", N_("シリアル番号"), False),
        ("delivered_on", N_("納入日"), False),
        ("purchased_on", N_("購入日"), False),
        ("expires_on", N_("使用期限"), False),
        ("disposed_on", N_("廃棄日"), False),
        ("asset_number", N_("資産番号"), False),
        ("jmdn_code", N_("JMDNコード"), False),
        ("classification", N_("機器分類"), False),
        ("classification_1", N_("大分類"), False),
        ("classification_2", N_("中分類"), False),
        ("classification_3", N_("小分類"), False),
        # ○ / blank: the ledger lists the device; ×: it does not (the ledger export's column,
        # app/services/ledger/export.py: devices the latest ledger dropped stay dropped).
        ("listed", N_("最新の台帳にあり"), False),
    ],
    LENDING: [
        ("device_number", N_("機器番号"), True),
        ("lent_at", N_("貸出日時"), True),
        ("returned_at", N_("返却日時"), False),
        ("department", N_("貸出先（利用部門）"), False),
    ],
    FAILURE: [
        ("device_number", N_("機器番号"), True),
        ("failed_at", N_("故障日"), True),
        ("repaired_at", N_("修理完了日"), False),
        ("description", N_("故障内容"), False),
    ],
}

# The ledger list's CSV export (app/services/ledger/export.py) is uploaded again: its headers
# of the columns it is read back by are here, in Japanese and in English (the export follows
# the user's language).
_SYNONYMS: dict[int, dict[str, list[str]]] = {
    LEDGER: {
        "device_number": ["機器番号", "ME番号", "ME機器番号", "管理番号", "機器管理番号", "機器ID", "機器コード",
                          "me_number", "menumber", "device_number", "ID"],
        "department_use": ["利用部門", "設置部署", "使用部署", "使用部門", "設置場所", "配置部署", "所属部署",
                           "grp_user", "grpuser", "Department"],
        "department_manage": ["管理部門", "管理部署", "grp_manage", "grpmanage"],
        "department_purchase": ["購入部門", "購入部署", "grp_purchase", "grppurchase"],
        "product_name": ["製品名", "機器名称", "機器名", "品名", "商品名", "名称", "名前",
                         "product_name", "productname"],
        "model_number": ["型番", "型式", "モデル番号", "モデル", "型名", "model_number", "modelnumber"],
        "maker_name": ["メーカー名", "メーカー", "製造元", "製造業者", "製造販売業者",
                       "maker_name", "makername", "maker"],
        "serial_number": ["シリアル番号", "製造番号", "シリアルNo", "S/N", "SN", "serial_number", "serialnumber"],
        "delivered_on": ["納入日", "納品日", "導入日", "date_stocked", "datestock", "stock_date",
                         "Delivery date"],
        "purchased_on": ["購入日", "取得日", "購入年月日", "取得年月日", "date_purchase", "datepurchase"],
        "expires_on": ["使用期限", "耐用期限", "使用期限日", "耐用年限日", "機器使用期限", "date_expiration",
                       "expirationdate", "expiration_date", "End of service life"],
        "disposed_on": ["廃棄日", "廃棄年月日", "date_disposal", "Disposed on"],
        "asset_number": ["資産番号", "固定資産番号", "assetnumber", "asset_number"],
        "jmdn_code": ["JMDNコード", "JMDN", "一般的名称コード", "jmdncode", "jmdn_code"],
        "classification": ["機器分類", "分類", "分類名", "機器分類名", "bunrui", "classification"],
        "classification_1": ["大分類", "大分類名", "機器大分類", "Major classification"],
        "classification_2": ["中分類", "中分類名", "機器中分類", "Middle classification"],
        "classification_3": ["小分類", "小分類名", "機器小分類", "Minor classification"],
        "listed": ["最新の台帳にあり", "In the latest ledger"],
    },
    LENDING: {
        "device_number": ["機器番号", "ME番号", "管理番号", "機器ID", "機器管理番号", "me_number", "device_number"],
        "lent_at": ["貸出日時", "貸出日", "貸出開始日時", "貸出開始", "貸出年月日", "日付", "lent_at", "rental_date"],
        "returned_at": ["返却日時", "返却日", "返却年月日", "返却完了日時", "returned_at", "return_date"],
        "department": ["貸出先", "利用部門", "貸出部署", "貸出先部署", "使用部署", "department", "grp_user"],
    },
    FAILURE: {
        "device_number": ["機器番号", "ME番号", "管理番号", "機器ID", "機器管理番号", "me_number", "device_number"],
        "failed_at": ["故障日", "発生日", "故障日時", "発生日時", "故障発生日", "受付日", "日付", "failed_at"],
        "repaired_at": ["修理完了日", "修理完了日時", "完了日", "修理日", "復旧日", "repaired_at"],
        "description": ["故障内容", "故障状況", "内容", "症状", "不具合内容", "description"],
    },
}

_KEY_NOISE = re.compile(r"[\s\u3000_\-・･.()（）\[\]【】「」:：/／]")


def header_key(header) -> str:
    if header is None:
        return ""
    s = unicodedata.normalize("NFKC", str(header)).strip().lower()
    return _KEY_NOISE.sub("", s)


SYNONYM_INDEX: dict[int, dict[str, str]] = {
    file_type: {header_key(name): fieldname for fieldname, names in table.items() for name in names}
    for file_type, table in _SYNONYMS.items()
}
# The canonical field names themselves are always known headers (what the on-prem ledger
# push writes, app.services.sync.ledger_push); a synonym of the table wins a clash.
for _file_type, _fields in CANONICAL_FIELDS.items():
    for _name, _label, _required in _fields:
        SYNONYM_INDEX[_file_type].setdefault(header_key(_name), _name)


def required_fields(file_type: int) -> list[str]:
    return [name for name, _label, required in CANONICAL_FIELDS[file_type] if required]


def field_label(file_type: int, fieldname: str) -> str:
    for name, label, _required in CANONICAL_FIELDS[file_type]:
        if name == fieldname:
            return label
    return fieldname


@dataclass
class Mapping:
    headers: list[str]
    columns: dict[str, int] = field(default_factory=dict)  # field → column index
    used: dict[str, str] = field(default_factory=dict)  # header → field (what UploadFile records)
    missing: list[str] = field(default_factory=list)  # required fields not found
    # field → column indexes whose headers are the same (after width/case/space folding):
    # which one the file means cannot be guessed.
    duplicates: dict[str, list[int]] = field(default_factory=dict)


def map_headers(headers: list, file_type: int, profile: dict | None = None) -> Mapping:
    """Map one header row. A profile maps a header to a field name (or "" to ignore it)."""
    texts = ["" if h is None else str(h).strip() for h in headers]
    result = Mapping(headers=texts)
    valid = {name for name, _l, _r in CANONICAL_FIELDS[file_type]}
    profile_by_key = {header_key(k): v for k, v in (profile or {}).items()}
    synonyms = SYNONYM_INDEX[file_type]
    for index, header in enumerate(texts):
        key = header_key(header)
        if not key:
            continue
        if key in profile_by_key:
            target = profile_by_key[key]
        else:
            target = synonyms.get(key)
        if target in valid and target not in result.columns:
            result.columns[target] = index
            result.used[header] = target
        elif target in valid and header_key(texts[result.columns[target]]) == key:
            result.duplicates.setdefault(target, [result.columns[target]]).append(index)
    result.missing = [name for name in required_fields(file_type) if name not in result.columns]
    return result


def column_letters(index: int) -> str:
    """A, B, …, Z, AA, … for a 0-based column index (as Excel names columns)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def duplicates_message(mapping: Mapping) -> dict:
    """The stored message (app.services.stored_messages) naming each header found twice."""
    columns = [
        translated(N_("「%(header)s」（%(columns)s）"), header=mapping.headers[indexes[0]],
                   columns=joined((translated(N_("%(letter)s列"), letter=column_letters(i)) for i in indexes),
                                  N_("・")))
        for indexes in mapping.duplicates.values()
    ]
    return part("ingest.duplicate_headers", columns=joined(columns))


def find_header_row(rows: list[list], file_type: int, profile: dict | None = None) -> int:
    """Index of the row naming the most known columns among ``rows`` (the first few)."""
    best, best_matched = None, 0
    for index, row in enumerate(rows):
        matched = len(map_headers(row, file_type, profile).columns)
        if matched > best_matched:
            best, best_matched = index, matched
    return _widest(rows) if best is None else best


HEADER_SCAN_ROWS = 10


def read_headers(path: str, fmt: str, file_type: int | None = None, profile: dict | None = None) -> list[str]:
    """The header row of a stored upload, for the needs-mapping screen. ``fmt`` is the
    declared extension or the detected format."""
    return read_head(path, fmt, file_type, profile)[0]


def read_head(path: str, fmt: str, file_type: int | None = None, profile: dict | None = None,
              preview_rows: int = 0) -> tuple[list[str], list[list]]:
    """The header row and up to ``preview_rows`` data rows below it (the mapping step's
    preview), read through the ingest reader's limits."""
    from flask import current_app

    from app.services.ingest.reading import Limits, open_rows

    source = open_rows(path, fmt, Limits.from_config(current_app.config))
    head = []
    rows = source.rows
    try:
        for row in rows:
            head.append(row)
            if len(head) >= HEADER_SCAN_ROWS + preview_rows:
                break
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()
    if not head:
        return [], []
    scanned = head[:HEADER_SCAN_ROWS]
    index = find_header_row(scanned, file_type, profile) if file_type else _widest(scanned)
    headers = [("" if h is None else str(h).strip()) for h in head[index]]
    while headers and not headers[-1]:
        headers.pop()
    data = [row for row in head[index + 1:] if any(c is not None and str(c).strip() for c in row)]
    return headers, data[:preview_rows]


def _widest(rows: list[list]) -> int:
    """The first row with the most filled cells: a title row above the header has fewer."""
    best, best_count = 0, -1
    for index, row in enumerate(rows):
        count = sum(1 for cell in row if cell is not None and str(cell).strip())
        if count > best_count:
            best, best_count = index, count
    return best
