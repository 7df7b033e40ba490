"""The masters push payload: its shape, checked before anything is written.

A payload is one JSON object with any of these lists (a list left out is not touched):
``hospitals``, ``dealers``, ``manufacturers`` (organizations), ``smds_classifications``,
``hospital_classifications`` (with their mapping ``smds_id``) and ``makers`` (with
``aliases``), and ``full`` (true: a row of a sent list whose id is missing is deactivated).
Every row is keyed by ``id``, the on-prem system's id. :func:`parse` returns the cleaned
rows or raises :class:`MastersInvalid` with every problem (Japanese msgids, translated).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from app.models import OrganizationKind

MAX_ROWS = 50_000
MAX_ERRORS = 50
ORGANIZATION_SECTIONS = {
    "hospitals": OrganizationKind.hospital.value,
    "dealers": OrganizationKind.dealer.value,
    "manufacturers": OrganizationKind.manufacturer.value,
}
SECTIONS = (*ORGANIZATION_SECTIONS, "smds_classifications", "hospital_classifications", "makers")
# field → (maximum length, required)
ORGANIZATION_FIELDS = {
    "code": (30, True), "name": (100, True), "postal_code": (8, False), "prefecture": (20, False),
    "city": (50, False), "address_line1": (100, False), "address_line2": (100, False), "phone": (20, False),
}
ID_MAX = 64
NAME_MAX = 200


class MastersInvalid(ValueError):
    """The payload cannot be applied; ``errors`` lists every problem found (first ones)."""

    def __init__(self, errors: list[str]):
        super().__init__(errors[0] if errors else "")
        self.errors = errors[:MAX_ERRORS]


@dataclass
class Payload:
    full: bool = False
    organizations: dict[str, list[dict]] = field(default_factory=dict)  # kind → rows
    smds_classifications: list[dict] | None = None
    hospital_classifications: list[dict] | None = None
    makers: list[dict] | None = None


class _Checker:
    def __init__(self):
        self.errors: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def text(self, row: dict, where: str, name: str, max_length: int, required: bool) -> str | None:
        value = row.get(name)
        if isinstance(value, bool) or value is not None and not isinstance(value, (str, int)):
            self.fail(f"{where}.{name}", _("文字列にしてください。"))
            return None
        value = str(value).strip() if value is not None else ""
        if not value:
            if required:
                self.fail(f"{where}.{name}", _("入力してください。"))
            return None
        if len(value) > max_length:
            self.fail(f"{where}.{name}", _("%(max)s文字以内にしてください。", max=max_length))
            return None
        return value

    def rows(self, data: dict, section: str, full: bool) -> list[dict] | None:
        value = data.get(section)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(section, _("配列にしてください。"))
            return None
        if len(value) > MAX_ROWS:
            self.fail(section, _("件数が多すぎます（%(max)s件まで）。", max=f"{MAX_ROWS:,}"))
            return None
        if full and not value:
            self.fail(section, _("全件送信（full）で空の一覧は受け付けません。"))
        rows = []
        for index, row in enumerate(value):
            if not isinstance(row, dict):
                self.fail(f"{section}[{index}]", _("オブジェクトにしてください。"))
            else:
                rows.append((index, row))
        return rows

    def known(self, row: dict, where: str, allowed: set[str]) -> None:
        for name in sorted(set(row) - allowed):
            self.fail(f"{where}.{name}", _("不明な項目です。"))

    def unique(self, seen: dict, key, where: str, shown: str) -> None:
        if key in seen:
            self.fail(where, _("id %(id)s が重複しています（%(other)s と同じ）。", id=shown, other=seen[key]))
        else:
            seen[key] = where

    def level(self, row: dict, where: str) -> int | None:
        value = row.get("level")
        if isinstance(value, bool) or value not in (1, 2, 3, "1", "2", "3"):
            self.fail(f"{where}.level", _("1・2・3 のいずれかにしてください。"))
            return None
        return int(value)


def parse(data) -> Payload:
    if not isinstance(data, dict):
        raise MastersInvalid(["payload: " + _("送信内容は JSON オブジェクトにしてください。")])
    check = _Checker()
    check.known(data, "payload", {"full", *SECTIONS})
    full = data.get("full", False)
    if not isinstance(full, bool):
        check.fail("full", _("true か false を指定してください。"))
        full = False
    if not any(data.get(section) is not None for section in SECTIONS):
        check.fail("payload", _("送信内容にマスタの一覧がありません。"))
    payload = Payload(full=full)

    for section, kind in ORGANIZATION_SECTIONS.items():
        rows = check.rows(data, section, full)
        if rows is None:
            continue
        ids, codes, cleaned = {}, {}, []
        for index, row in rows:
            where = f"{section}[{index}]"
            check.known(row, where, {"id", *ORGANIZATION_FIELDS})
            item = {"id": check.text(row, where, "id", ID_MAX, True), "_where": where}
            for name, (max_length, required) in ORGANIZATION_FIELDS.items():
                item[name] = check.text(row, where, name, max_length, required)
            if item["id"]:
                check.unique(ids, item["id"], where, item["id"])
            if item["code"]:
                if item["code"] in codes:
                    check.fail(where, _("コード %(code)s が重複しています（%(other)s と同じ）。",
                                        code=item["code"], other=codes[item["code"]]))
                codes.setdefault(item["code"], where)
            cleaned.append(item)
        payload.organizations[kind] = cleaned

    rows = check.rows(data, "smds_classifications", full)
    if rows is not None:
        ids, cleaned = {}, []
        for index, row in rows:
            where = f"smds_classifications[{index}]"
            check.known(row, where, {"id", "level", "parent_id", "name", "code"})
            item = {"id": check.text(row, where, "id", ID_MAX, True), "level": check.level(row, where),
                    "parent_id": check.text(row, where, "parent_id", ID_MAX, False),
                    "name": check.text(row, where, "name", NAME_MAX, True),
                    "code": check.text(row, where, "code", 30, False), "_where": where}
            _check_parent_shape(check, item, where)
            if item["id"]:
                check.unique(ids, item["id"], where, item["id"])
            cleaned.append(item)
        payload.smds_classifications = cleaned

    rows = check.rows(data, "hospital_classifications", full)
    if rows is not None:
        ids, cleaned = {}, []
        for index, row in rows:
            where = f"hospital_classifications[{index}]"
            check.known(row, where, {"id", "hospital_id", "level", "parent_id", "name", "smds_id"})
            item = {"id": check.text(row, where, "id", ID_MAX, True),
                    "hospital_id": check.text(row, where, "hospital_id", ID_MAX, True),
                    "level": check.level(row, where),
                    "parent_id": check.text(row, where, "parent_id", ID_MAX, False),
                    "name": check.text(row, where, "name", NAME_MAX, True), "_where": where}
            if "smds_id" in row:
                item["smds_id"] = check.text(row, where, "smds_id", ID_MAX, False)
            _check_parent_shape(check, item, where)
            if item["id"] and item["hospital_id"]:
                check.unique(ids, (item["hospital_id"], item["id"]), where, item["id"])
            cleaned.append(item)
        payload.hospital_classifications = cleaned

    rows = check.rows(data, "makers", full)
    if rows is not None:
        ids, names, cleaned = {}, {}, []
        for index, row in rows:
            where = f"makers[{index}]"
            check.known(row, where, {"id", "name", "aliases", "manufacturer_id"})
            item = {"id": check.text(row, where, "id", ID_MAX, True),
                    "name": check.text(row, where, "name", NAME_MAX, True), "aliases": [], "_where": where}
            if "manufacturer_id" in row:
                item["manufacturer_id"] = check.text(row, where, "manufacturer_id", ID_MAX, False)
            aliases = row.get("aliases", [])
            if not isinstance(aliases, list):
                check.fail(f"{where}.aliases", _("配列にしてください。"))
                aliases = []
            for position, _alias in enumerate(aliases):
                spelling = check.text({"alias": _alias}, f"{where}.aliases[{position}]", "alias", NAME_MAX, True)
                if spelling:
                    item["aliases"].append(spelling)
            if item["id"]:
                check.unique(ids, item["id"], where, item["id"])
            if item["name"]:
                if item["name"] in names:
                    check.fail(where, _("メーカー名「%(name)s」が重複しています（%(other)s と同じ）。",
                                        name=item["name"], other=names[item["name"]]))
                names.setdefault(item["name"], where)
            cleaned.append(item)
        payload.makers = cleaned

    if check.errors:
        raise MastersInvalid(check.errors)
    return payload


def _check_parent_shape(check: _Checker, item: dict, where: str) -> None:
    if item["level"] == 1 and item["parent_id"]:
        check.fail(f"{where}.parent_id", _("大分類（level 1）には親を指定できません。"))
    elif item["level"] in (2, 3) and not item["parent_id"]:
        check.fail(f"{where}.parent_id", _("中分類・小分類には親の分類の id を指定してください。"))
