"""Row checks: one raw row → a clean record or a list of problems.

Each checker turns the mapped cells of one row into the tuple the writer inserts, or
returns the problems found as ``[(column label, reason)]``: the label a ``translated`` field
name, the reason a stored part (app/services/stored_messages.py), so that the rejected-rows
file says them in its reader's language. Checkers keep per-file state
(device numbers already seen) so duplicates within a file are rejected after the first:
for lendings and failures the first row of a (device, start to the minute) is kept and
the later ones are rejected with a reason naming it.
Reasons say what to fix.
"""
from __future__ import annotations

import datetime as dt

from app.core.months import add_months, jst_now
from app.core.normalize import device_key
from app.services.ingest.headers import CANONICAL_FIELDS, FAILURE, LEDGER, LENDING, field_label
from app.services.ingest.values import cell_reason, event_time, parse_date, text
from app.services.stored_messages import part, translated

DEVICE_NUMBER_MAX = 50
LEDGER_DATE_MIN, LEDGER_DATE_MAX = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
EVENT_MIN = dt.datetime(1990, 1, 1)
# Text columns and the length the table holds; longer values are cut, not rejected.
LEDGER_TEXT = {
    "product_name": 200, "model_number": 200, "maker_name": 200, "serial_number": 100,
    "department_use": 100, "department_manage": 100, "department_purchase": 100,
    "asset_number": 100, "jmdn_code": 20,
}
LEDGER_DATES = ("delivered_on", "purchased_on", "expires_on", "disposed_on")
# The order of the values in a ledger record (write.LEDGER_COLUMNS follows it).
LEDGER_FIELDS = ("device_number", *LEDGER_TEXT, *LEDGER_DATES)
CLASS_FIELDS = ("classification", "classification_1", "classification_2", "classification_3")
# A 「最新の台帳にあり」 cell saying no (the export writes ×; people type other noes);
# anything else, blank included, lists the device.
NOT_LISTED = frozenset({"×", "✕", "✖", "x", "なし", "無", "無し", "いいえ", "no", "false", "0"})

Problems = list[tuple[dict, dict]]


class Checker:
    file_type: int

    def __init__(self, columns: dict[str, int]):
        self.columns = columns
        self.labels = {name: translated(field_label(self.file_type, name))
                       for name, _l, _r in CANONICAL_FIELDS[self.file_type]}

    def _device_number(self, row: list, problems: Problems) -> str | None:
        number = text(row[self.columns["device_number"]])
        label = self.labels["device_number"]
        if number is None:
            problems.append((label, part("reject.device_number_empty")))
            return None
        if len(number) > DEVICE_NUMBER_MAX:
            problems.append((label, part("reject.device_number_long", max=str(DEVICE_NUMBER_MAX))))
            return None
        return number


class LedgerChecker(Checker):
    """Ledger rows → (device_number, texts…, dates…, classification path)."""

    file_type = LEDGER

    def __init__(self, columns: dict[str, int]):
        super().__init__(columns)
        self.seen: dict[str, int] = {}
        self.text_fields = [(name, columns[name], size) for name, size in LEDGER_TEXT.items() if name in columns]
        self.date_fields = [(name, columns[name]) for name in LEDGER_DATES if name in columns]
        self.class_path = [columns[name] for name in CLASS_FIELDS[1:] if name in columns]
        self.class_single = columns.get("classification")
        self.listed = columns.get("listed")

    def check(self, rownum: int, row: list) -> tuple[dict | None, Problems]:
        problems: Problems = []
        number = self._device_number(row, problems)
        key = None if number is None else device_key(number)
        record = {"device_number": number, "device_key": key}
        for name, index, size in self.text_fields:
            value = text(row[index])
            record[name] = value[:size] if value else None
        for name, index in self.date_fields:
            try:
                day = parse_date(row[index])
            except ValueError as exc:
                problems.append((self.labels[name], part("reject.date", reason=cell_reason(exc, row[index]))))
                continue
            if day is not None and not LEDGER_DATE_MIN <= day <= LEDGER_DATE_MAX:
                problems.append((self.labels[name], part("reject.date_range", day=f"{day:%Y/%m/%d}")))
                continue
            record[name] = day
        if self.class_path:
            record["classification_path"] = tuple(text(row[i]) or "" for i in self.class_path)
        elif self.class_single is not None:
            record["classification_path"] = (text(row[self.class_single]) or "",)
        if self.listed is not None:
            record["listed"] = (text(row[self.listed]) or "").casefold() not in NOT_LISTED
        if number is not None and not problems:
            first = self.seen.get(key)
            if first is not None:
                problems.append((self.labels["device_number"],
                                 part("reject.device_number_duplicate", number=number, first=first)))
            else:
                self.seen[key] = rownum
        return (None if problems else record), problems


class EventChecker(Checker):
    """Lending and failure rows → (equipment id, start, end, text)."""

    start_field: str
    end_field: str
    text_field: str
    text_size: int | None
    end_before_start: str  # message codes
    duplicate: str

    def __init__(self, columns: dict[str, int], devices: dict[str, int], month: dt.date):
        super().__init__(columns)
        self.devices = devices
        self.latest = dt.datetime.combine(add_months(month, 2), dt.time())
        # An end may be later: a re-export of an old month knows returns made since. It
        # cannot be in the future (Japan time, a day of slack).
        self.latest_end = max(self.latest, jst_now().replace(tzinfo=None) + dt.timedelta(days=1))
        self.month = month
        self.start_index = columns[self.start_field]
        self.end_index = columns.get(self.end_field)
        self.text_index = columns.get(self.text_field)
        self.seen: dict[tuple[int, dt.datetime], int] = {}
        self.number_index = columns["device_number"]
        self.by_raw: dict[str, int] = {}

    def _moment(self, name: str, value, problems: Problems, latest: dt.datetime | None = None) -> dt.datetime | None:
        try:
            moment = event_time(value)
        except ValueError as exc:
            problems.append((self.labels[name], part("reject.datetime", reason=cell_reason(exc, value))))
            return None
        if moment is not None and not EVENT_MIN <= moment < (latest or self.latest):
            problems.append((self.labels[name], part("reject.datetime_range", month=f"{self.month:%Y-%m}",
                                                     moment=f"{moment:%Y/%m/%d %H:%M}")))
            return None
        return moment

    def _equipment(self, row: list, problems: Problems) -> int | None:
        raw = row[self.number_index]
        known = self.by_raw.get(raw) if type(raw) is str else None
        if known is not None:
            return known
        number = self._device_number(row, problems)
        if number is None:
            return None
        equipment_id = self.devices.get(device_key(number))
        if equipment_id is None:
            problems.append((self.labels["device_number"], part("reject.device_unknown", number=number)))
        elif type(raw) is str:
            self.by_raw[raw] = equipment_id  # exports repeat device numbers: skip the cleaning next time
        return equipment_id

    def check(self, rownum: int, row: list) -> tuple[tuple | None, Problems]:
        """The fast path takes a row whose device number was seen before and whose dates
        parse cleanly; anything else goes through :meth:`check_slowly`, which says why."""
        try:
            equipment_id = self.by_raw[row[self.number_index]]
            start = event_time(row[self.start_index])
            end = None if self.end_index is None else event_time(row[self.end_index])
        except (KeyError, ValueError, TypeError):
            return self.check_slowly(rownum, row)
        if (start is None or not EVENT_MIN <= start < self.latest
                or end is not None and (end < start or end >= self.latest_end)):
            return self.check_slowly(rownum, row)
        key = (equipment_id, start)
        if key in self.seen:
            return self.check_slowly(rownum, row)
        self.seen[key] = rownum
        note = None
        if self.text_index is not None:
            note = text(row[self.text_index])
            if note and self.text_size:
                note = note[:self.text_size]
        return (equipment_id, start, end, note), None

    def check_slowly(self, rownum: int, row: list) -> tuple[tuple | None, Problems]:
        problems: Problems = []
        equipment_id = self._equipment(row, problems)
        start = self._moment(self.start_field, row[self.start_index], problems)
        if start is None and not any(label == self.labels[self.start_field] for label, _r in problems):
            problems.append((self.labels[self.start_field], part("reject.datetime_empty")))
        end = None
        if self.end_index is not None:
            end = self._moment(self.end_field, row[self.end_index], problems, self.latest_end)
            if start is not None and end is not None and end < start:
                problems.append((self.labels[self.end_field], part(self.end_before_start)))
        note = None
        if self.text_index is not None:
            note = text(row[self.text_index])
            if note and self.text_size:
                note = note[:self.text_size]
        if problems:
            return None, problems
        key = (equipment_id, start)
        first = self.seen.get(key)
        if first is not None:
            return None, [(self.labels[self.start_field], part(self.duplicate, first=first))]
        self.seen[key] = rownum
        return (equipment_id, start, end, note), problems


class LendingChecker(EventChecker):
    file_type = LENDING
    start_field, end_field, text_field, text_size = "lent_at", "returned_at", "department", 100
    end_before_start, duplicate = "reject.returned_before_lent", "reject.lending_duplicate"


class FailureChecker(EventChecker):
    file_type = FAILURE
    start_field, end_field, text_field, text_size = "failed_at", "repaired_at", "description", None
    end_before_start, duplicate = "reject.repaired_before_failed", "reject.failure_duplicate"
