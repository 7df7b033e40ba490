"""Generate realistic hospital ME-system exports for the ingest benchmark.

One hospital-month: a ledger (default 15,000 devices, ~3 MB), a lending history (~10 MB)
and a failure history (~1 MB), each as CP932 CSV and as xlsx. Headers come in vendor
variants (機器番号 / ME番号 / 管理番号 …); values mix full and half width, ㈱ and 株式会社,
trailing spaces and several date forms (2023/04/01, 2023-4-1, 20230401, R5.4.1, Excel
dates in xlsx). ``--dirty`` sets the share of rows with a problem (blank or unknown
device number, impossible date, return before lending, duplicate device number).

    python bench/generate_exports.py --out /tmp/exports [--devices 15000] [--lending-mb 10]
        [--failure-mb 1] [--dirty 0.01] [--variant 0|1|2] [--month 2025-10] [--seed 1]

:func:`history` makes fourteen months of exports of one hospital with two ledgers, in the
three windows real ME systems use, together with the TRUE events and devices they were cut
from (tests/test_events_across_files.py compares every figure of the report with an
independent calculation over that truth).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
from dataclasses import dataclass, field

import xlsxwriter

HEADERS = [
    {  # vendor A
        "ledger": ["機器番号", "利用部門", "製品名", "型番", "メーカー名", "シリアル番号", "納入日", "使用期限", "資産番号", "機器分類"],
        "lending": ["機器番号", "機器名称", "型式", "貸出日時", "返却日時", "貸出先", "貸出者", "返却者", "状態", "備考"],
        "failure": ["機器番号", "機器名称", "発生日", "修理完了日", "故障内容", "対応者", "修理区分"],
    },
    {  # vendor B
        "ledger": ["ME番号", "設置部署", "機器名称", "型式", "製造元", "製造番号", "購入日", "耐用期限", "固定資産番号", "大分類", "中分類", "小分類"],
        "lending": ["ME番号", "品名", "貸出日", "返却日", "利用部門", "担当者", "備考"],
        "failure": ["ME番号", "品名", "故障日", "修理完了日", "故障状況", "担当"],
    },
    {  # vendor C (half-width kana headers)
        "ledger": ["管理番号", "ｼﾘｱﾙ番号", "ﾒｰｶｰ名", "ﾓﾃﾞﾙ番号", "製品名", "利用部門", "納入日", "使用期限", "分類"],
        "lending": ["管理番号", "貸出開始日時", "返却日時", "貸出先部署", "機器名", "ﾒﾓ"],
        "failure": ["管理番号", "発生日時", "修理完了日時", "不具合内容", "機器名"],
    },
]
PRODUCTS = [
    ("輸液ポンプ", "テルフュージョン輸液ポンプ", "TE-161S", "テルモ㈱"),
    ("輸液ポンプ", "ｲﾝﾌｭｰｼﾞｮﾝﾎﾟﾝﾌﾟ", "OT-818G", "ＪＭＳ株式会社"),
    ("シリンジポンプ", "ｼﾘﾝｼﾞﾎﾟﾝﾌﾟ", "TE-351", "テルモ株式会社"),
    ("シリンジポンプ", "シリンジポンプ", "CFT-3300", "ニプロ㈱"),
    ("低圧持続吸引器", "低圧持続吸引器", "MS-008", "日本光電工業㈱"),
    ("生体情報モニタ", "セントラルモニタ　", "CNS-6201", "日本光電工業株式会社"),
    ("人工呼吸器", "人工呼吸器", "Servo-i", "フクダ電子㈱"),
    ("除細動器", "除細動器（ＡＥＤ）", "AED-3100", "日本光電工業㈱"),
    ("心電計", "１２誘導心電計", "ECG-2550", "ＧＥヘルスケア・ジャパン㈱"),
    ("パルスオキシメータ", "パルスオキシメータ", "OLV-3100", "コニカミノルタ㈱"),
    ("低圧持続吸引器", "低圧持続吸引器 ", "MS-008", "泉工医科工業㈱"),
    ("電気メス", "電気手術器", "VIO300D", "アムコ㈱"),
]
CLASS_TREE = {"輸液ポンプ": ("治療機器", "輸液関連"), "シリンジポンプ": ("治療機器", "輸液関連"),
              "生体情報モニタ": ("生体情報", "モニタ"), "人工呼吸器": ("治療機器", "呼吸"),
              "除細動器": ("治療機器", "救急"), "心電計": ("生体情報", "検査"),
              "パルスオキシメータ": ("生体情報", "モニタ"), "低圧持続吸引器": ("治療機器", "吸引"),
              "電気メス": ("手術機器", "手術")}
DEPARTMENTS = ["ＩＣＵ", "ICU", "５階東病棟", "5階西病棟", "手術室", "救急外来", "ＨＣＵ", "NICU", "MEセンター",
               "本館９階", "東館１階", "透析室", "内視鏡室", "小児科病棟", "ｶﾃｰﾃﾙ室"]
STAFF = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村"]
FAILURES = ["液漏れ", "電源が入らない", "アラームが鳴り止まない", "表示不良", "ドア破損", "バッテリー劣化",
            "流量誤差", "センサー不良", "ケーブル断線", "異音"]


def date_text(day: dt.date, rng: random.Random, xlsx: bool):
    form = rng.random()
    if xlsx and form < 0.6:
        return day
    if form < 0.7:
        return f"{day:%Y/%m/%d}"
    if form < 0.8:
        return f"{day.year}-{day.month}-{day.day}"
    if form < 0.9:
        return f"{day:%Y%m%d}"
    if day >= dt.date(2019, 5, 1):
        return f"R{day.year - 2018}.{day.month}.{day.day}"
    return f"H{day.year - 1988}.{day.month}.{day.day}"


def moment_text(moment: dt.datetime, rng: random.Random, xlsx: bool):
    if xlsx and rng.random() < 0.7:
        return moment
    return f"{moment:%Y/%m/%d %H:%M}" if rng.random() < 0.85 else f"{moment:%Y-%m-%d %H:%M:%S}"


def ledger(args, rng, variant):
    header = HEADERS[variant]["ledger"]
    numbers = [f"{rng.choice(['01', '02', '03', '035'])}{n:08d}" for n in range(1, args.devices + 1)]
    rows = {"csv": [header], "xlsx": [header]}
    for index, number in enumerate(numbers):
        cls, product, model, maker = rng.choice(PRODUCTS)
        dept = rng.choice(DEPARTMENTS)
        delivered = dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(7000))
        expires = delivered.replace(year=delivered.year + rng.choice([6, 8, 10])) if delivered.month != 2 else delivered
        serial = f"{rng.randrange(100, 999)}-{rng.randrange(10000, 99999)}"
        asset = f"A{rng.randrange(10**7):07d}"
        dirty = rng.random() < args.dirty
        problem = rng.randrange(3) if dirty else None
        number_out = "" if problem == 0 else (numbers[index - 1] if problem == 1 and index else number)
        for kind in ("csv", "xlsx"):
            xlsx = kind == "xlsx"
            d1 = "2023/13/45" if problem == 2 else date_text(delivered, rng, xlsx)
            d2 = date_text(expires, rng, xlsx)
            by_name = {
                "number": number_out, "dept": dept + (" " if rng.random() < 0.1 else ""), "product": product,
                "model": model, "maker": maker, "serial": serial, "d1": d1, "d2": d2, "asset": asset, "cls": cls,
            }
            if variant == 0:
                row = [by_name[k] for k in ("number", "dept", "product", "model", "maker", "serial", "d1", "d2", "asset", "cls")]
            elif variant == 1:
                top, mid = CLASS_TREE[cls]
                row = [by_name[k] for k in ("number", "dept", "product", "model", "maker", "serial", "d1", "d2", "asset")]
                row += [top, mid, cls]
            else:
                row = [by_name[k] for k in ("number", "serial", "maker", "model", "product", "dept", "d1", "d2", "cls")]
            rows[kind].append(row)
    return numbers, rows


def events(args, rng, variant, numbers, kind, target_bytes):
    header = HEADERS[variant][kind]
    month = dt.datetime.strptime(args.month, "%Y-%m")
    rows = {"csv": [header], "xlsx": [header]}
    size = 0
    while size < target_bytes:
        number = rng.choice(numbers)
        start = month + dt.timedelta(minutes=rng.randrange(31 * 24 * 60))
        end = start + dt.timedelta(hours=rng.randrange(1, 400)) if rng.random() < 0.9 else None
        problem = rng.randrange(4) if rng.random() < args.dirty else None
        if problem == 0:
            number = f"99{rng.randrange(10**8):08d}"  # not in the ledger
        elif problem == 1:
            number = ""
        elif problem == 2 and end is not None:
            end = start - dt.timedelta(hours=3)
        product = rng.choice(PRODUCTS)
        for fmt in ("csv", "xlsx"):
            xlsx = fmt == "xlsx"
            s = "2025/02/30 10:00" if problem == 3 else moment_text(start, rng, xlsx)
            e = "" if end is None else moment_text(end, rng, xlsx)
            if kind == "lending":
                extra = {0: [product[1], product[2], s, e, rng.choice(DEPARTMENTS), rng.choice(STAFF), rng.choice(STAFF), "返却済" if end else "貸出中", ""],
                         1: [product[1], s, e, rng.choice(DEPARTMENTS), rng.choice(STAFF), ""],
                         2: [s, e, rng.choice(DEPARTMENTS), product[1], ""]}[variant]
            else:
                text = rng.choice(FAILURES)
                extra = {0: [product[1], s, e, text, rng.choice(STAFF), rng.choice(["院内修理", "メーカー修理"])],
                         1: [product[1], s, e, text, rng.choice(STAFF)],
                         2: [s, e, text, product[1]]}[variant]
            rows[fmt].append([number, *extra])
        size += len(",".join(str(v) for v in rows["csv"][-1]).encode("cp932")) + 2
    return rows


def write_csv(path, rows):
    with open(path, "w", encoding="cp932", errors="replace", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)


def write_xlsx(path, rows):
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    sheet = book.add_worksheet("Sheet1")
    date_format = book.add_format({"num_format": "yyyy/mm/dd"})
    time_format = book.add_format({"num_format": "yyyy/mm/dd hh:mm"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, time_format)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            elif value not in (None, ""):
                sheet.write_string(r, c, str(value))
    book.close()


def generate(args) -> dict[str, str]:
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    numbers, ledger_rows = ledger(args, rng, args.variant)
    files = {"ledger": ledger_rows,
             "lending": events(args, rng, args.variant, numbers, "lending", args.lending_mb * 1024 * 1024),
             "failure": events(args, rng, args.variant, numbers, "failure", args.failure_mb * 1024 * 1024)}
    paths = {}
    for name, rows in files.items():
        paths[f"{name}.csv"] = os.path.join(args.out, f"{name}.csv")
        write_csv(paths[f"{name}.csv"], rows["csv"])
        paths[f"{name}.xlsx"] = os.path.join(args.out, f"{name}.xlsx")
        write_xlsx(paths[f"{name}.xlsx"], rows["xlsx"])
    return paths


# ---------------------------------------------------------------- months of exports, with the truth

OVERLAP, STARTED, WHOLE = "overlap", "started-in-month", "whole-history"
EVENT_HEADERS = {"lending": ["機器番号", "貸出日時", "返却日時", "貸出先"],
                 "failure": ["機器番号", "故障日", "修理完了日", "故障内容"]}
HISTORY_LEDGER_HEADER = ["機器番号", "製品名", "型番", "メーカー名", "利用部門", "納入日", "使用期限", "廃棄日", "機器分類"]
# class, product, model, the maker as the ledger spells it, the maker it is (seeds/maker_aliases.csv)
HISTORY_MODELS = [
    ("輸液ポンプ", "輸液ポンプ", "TE-161S", "テルモ㈱", "テルモ株式会社"),
    ("輸液ポンプ", "輸液ポンプ", "FP-N11", "ニプロ", "ニプロ株式会社"),
    ("シリンジポンプ", "シリンジポンプ", "TE-351", "TERUMO", "テルモ株式会社"),
    ("シリンジポンプ", "シリンジポンプ", "SP-N20", "ニプロ株式会社", "ニプロ株式会社"),
    ("人工呼吸器", "人工呼吸器", "FV-500", "フクダ電子", "フクダ電子株式会社"),
    ("人工呼吸器", "新生児用人工呼吸器", "AT-V3", "ATOM", "アトムメディカル株式会社"),
    ("低圧持続吸引器", "低圧持続吸引器", "MS-008", "NIHON KOHDEN", "日本光電工業株式会社"),
    ("低圧持続吸引器", "電動式低圧吸引器", "ES-100", "フクダ電子株式会社", "フクダ電子株式会社"),
    ("除細動器", "除細動器", "TEC-5631", "日本光電", "日本光電工業株式会社"),
]
# Classes of different sizes (60 devices: 24 / 16 / 10 / 6 / 4), so the automatic top-N and
# the ⑥ order never hang on a tie in device counts.
HISTORY_CLASS_SIZES = [("輸液ポンプ", 24), ("シリンジポンプ", 16), ("人工呼吸器", 10), ("低圧持続吸引器", 6), ("除細動器", 4)]
HISTORY_DEPARTMENTS = ["ICU", "HCU", "NICU", "手術室", "救急外来", "5階東病棟", "5階西病棟", "透析室", "MEセンター"]
HISTORY_CLASSES = [c for c, _n in HISTORY_CLASS_SIZES]


@dataclass(frozen=True)
class TrueEvent:
    kind: str  # lending / failure
    device: str
    start: dt.datetime
    end: dt.datetime  # the true end (it may lie after every export: then no file knows it)
    text: str  # 貸出先 ("" = blank: the device's 利用部門 applies) / 故障内容


@dataclass(frozen=True)
class Device:
    """One device as a ledger lists it (the truth the independent calculation reads)."""

    number: str
    cls: str
    product: str
    model: str
    maker_spelled: str
    maker: str
    department: str
    delivered: dt.date | None
    expires: dt.date | None
    disposed: dt.date | None = None


@dataclass
class LedgerFile:
    month: dt.date
    devices: list  # Device, as this ledger lists them
    data: bytes = b""


@dataclass
class MonthFile:
    """One upload: a month's lending or failure export as the hospital's system wrote it."""

    month: dt.date
    kind: str
    window: str
    exported_at: dt.datetime
    fmt: str  # csv / csv-utc (times as …Z) / xlsx
    listed: list = field(default_factory=list)  # (device, start, end or None, text): what the file says
    data: bytes = b""


@dataclass
class History:
    ledgers: list  # LedgerFile, in upload order
    devices: dict  # device number → classification name
    events: list  # TrueEvent, the truth
    files: list  # MonthFile and LedgerFile, in upload order
    months: list  # the months of the lending / failure files, in order
    counts_off: tuple = ()  # devices the hospital sets to "not counted" (screen 5) after the first ledger

    @property
    def ledger(self) -> bytes:
        return self.ledgers[0].data


def _month_add(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def _true_events(rng, devices, begin, until, starts=None):
    """Per device a run of lendings (one after the other; a few devices are double-booked in
    the source) and a sparser run of failures, all starting between ``begin`` (or the
    device's own start in ``starts``) and ``until``. Lendings without a 貸出先 happen."""
    events = []
    for index, number in enumerate(devices):
        if index % 12 == 11:
            continue  # a device with no activity at all
        first = max(begin, (starts or {}).get(number) or begin)
        for kind, gap_hours, lengths in (("lending", 60, [(1, 48), (48, 480), (480, 2900)]),
                                         ("failure", 500, [(1, 24), (24, 360)])):
            t = first + dt.timedelta(minutes=rng.randrange(20 * 24 * 60))
            while True:
                start = t + dt.timedelta(minutes=rng.randrange(1, int(gap_hours * 2 * 60)))
                if start >= until:
                    break
                low, high = lengths[0] if rng.random() < 0.6 else rng.choice(lengths[1:])
                end = start + dt.timedelta(minutes=rng.randrange(low * 60, high * 60))
                if kind == "lending":
                    text = "" if rng.random() < 0.1 else rng.choice(HISTORY_DEPARTMENTS)
                else:
                    text = rng.choice(FAILURES)
                events.append(TrueEvent(kind, number, start, end, text))
                if kind == "lending" and index % 17 == 3 and rng.random() < 0.3:
                    # Double-booked in the source: a second lending while the first runs.
                    second = start + dt.timedelta(minutes=rng.randrange(1, 600))
                    if second < end:
                        events.append(TrueEvent(kind, number, second, second + dt.timedelta(hours=30), text))
                t = end
    return events


def _listed(events, kind, month, window, exported_at):
    """What a ``window`` export of ``month`` made at ``exported_at`` lists: (device, start,
    end or blank, text); an end after the export is blank."""
    month_start, month_end = _at(month), _at(_month_add(month, 1))
    rows = []
    for e in events:
        if e.kind != kind or e.start > exported_at:
            continue
        known = e.end if e.end <= exported_at else None
        if window == STARTED:
            keep = month_start <= e.start < month_end
        elif window == OVERLAP:
            keep = e.start < month_end and (known is None or known > month_start)
        else:
            keep = True
        if keep:
            rows.append((e.device, e.start, known, e.text))
    return rows


def _render(kind, fmt, rows) -> bytes:
    table = [EVENT_HEADERS[kind]]
    for device, start, end, text in rows:
        if fmt == "xlsx":
            table.append([device, start, end, text])
        elif fmt == "csv-utc":
            # An export in UTC with the zone stated: the ingest converts it to Japan time.
            utc = [None if t is None else (t - dt.timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
                   for t in (start, end)]
            table.append([device, utc[0], utc[1] or "", text])
        else:
            table.append([device, f"{start:%Y/%m/%d %H:%M}", "" if end is None else f"{end:%Y/%m/%d %H:%M}", text])
    if fmt == "xlsx":
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
            write_xlsx(handle.name, table)
            return open(handle.name, "rb").read()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    return buffer.getvalue().encode("cp932")


def _render_ledger(devices) -> bytes:
    def day(value):
        return "" if value is None else f"{value:%Y/%m/%d}"

    rows = [HISTORY_LEDGER_HEADER] + [
        [d.number, d.product, d.model, d.maker_spelled, d.department, day(d.delivered), day(d.expires),
         day(d.disposed), d.cls] for d in devices]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("cp932")


def _history_devices(rng, first: dt.date, count: int = 60, new: int = 6) -> list[Device]:
    """``count`` devices of the first ledger then ``new`` devices delivered later; the
    classes have the sizes of HISTORY_CLASS_SIZES (scaled when ``count`` is not 60)."""
    classes = []
    for cls, size in HISTORY_CLASS_SIZES:
        classes += [cls] * max(1, round(size * count / 60))
    classes = (classes * 2)[:count]
    rng.shuffle(classes)
    classes += ["輸液ポンプ", "輸液ポンプ", "輸液ポンプ", "シリンジポンプ", "シリンジポンプ", "除細動器"][:new]
    devices = []
    for index, cls in enumerate(classes, 1):
        models = [m for m in HISTORY_MODELS if m[0] == cls]
        _c, product, model, spelled, maker = models[index % len(models)]
        if index > count:  # bought during the year: delivered in the ledger's month or later
            delivered = _month_add(first, 7 + (2 if index == count + 4 else 0)) + dt.timedelta(days=4 + index % 20)
        elif index == 7:
            delivered = _month_add(first, 1) + dt.timedelta(days=13)  # counts from February
        else:
            delivered = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(9 * 365))
        roll = rng.random()
        expires = None if roll < 0.1 else delivered.replace(year=delivered.year + (6 if roll < 0.45 else 8 if roll < 0.7 else 10))
        devices.append(Device(f"ME{index:04d}", cls, product, model, spelled, maker,
                              rng.choice(HISTORY_DEPARTMENTS), delivered, expires))
    return devices


def history(seed: int = 7, devices: int = 60, first: dt.date = dt.date(2025, 1, 1), months: int = 14) -> History:
    """``months`` months (fourteen by default: January of ``first``'s year to February of
    the next) of lending and failure exports of one hospital, with two ledgers, in the
    order a hospital would upload them:

    - the first ledger, for March (before its month, the first ledger is in force): one
      device delivered in February, one disposed in June;
    - January–April: the usual window, every event overlapping the month, exported on the
      3rd of the next month at 09:00; a return after that is blank and filled in the next
      month's file. February's file states its times in UTC (…Z); March's is xlsx (Excel
      serial times) and lists two lendings that never happened, and one return mistyped
      (7 hours late);
    - a corrected re-upload of March, exported a day after April's file: without the two,
      the return corrected;
    - May: only the events started in May (xlsx); June: the usual window;
    - February's original files again, byte-identical (blank returns long since filled);
    - July: the usual window;
    - the August ledger: three devices gone (they keep counting up to July, and their
      lendings go on in the exports), six new ones (delivered in August, one in October),
      one device disposed in October;
    - August–January: the usual window, except October (only the events started in it)
      and November (UTC); August and January in xlsx;
    - the last month: a re-export of the whole history.
    Each month's lending file is followed by its failure file. ``counts_off``: one device
    the hospital excludes from aggregation (screen 5) after the first ledger.
    """
    rng = random.Random(seed)
    everyone = _history_devices(rng, first, devices)
    initial, bought = everyone[:devices], everyone[devices:]
    march, august = _month_add(first, 2), _month_add(first, 7)
    disposed_june = initial[29]
    first_ledger = [d if d is not disposed_june else Device(**{**d.__dict__, "disposed": _month_add(first, 5) + dt.timedelta(days=14)})
                    for d in initial]
    gone = {d.number for d in initial[9:12]}
    disposed_october = initial[39]
    second_ledger = [d if d.number != disposed_october.number else
                     Device(**{**d.__dict__, "disposed": _month_add(first, 9) + dt.timedelta(days=19)})
                     for d in first_ledger if d.number not in gone] + bought
    ledgers = [LedgerFile(march, first_ledger, _render_ledger(first_ledger)),
               LedgerFile(august, second_ledger, _render_ledger(second_ledger))]
    month_list = [_month_add(first, i) for i in range(months)]
    exported = {m: _at(_month_add(m, 1)) + dt.timedelta(days=2, hours=9) for m in month_list}
    starts = {d.number: _at(d.delivered) for d in bought}
    numbers = [d.number for d in everyone]
    events = _true_events(rng, numbers, _at(_month_add(first, -1)), exported[month_list[-1]] + dt.timedelta(days=10),
                          starts)
    phantoms = [TrueEvent("lending", numbers[0], _at(march) + dt.timedelta(days=5, hours=10, minutes=7),
                          _at(march) + dt.timedelta(days=6, hours=11), "幻の貸出"),
                TrueEvent("lending", numbers[1], _at(march) + dt.timedelta(days=20, hours=8, minutes=3),
                          _at(march) + dt.timedelta(days=60), "幻の貸出")]
    windows = {4: (STARTED, "xlsx"), 1: (OVERLAP, "csv-utc"), 2: (OVERLAP, "xlsx"), 7: (OVERLAP, "xlsx"),
               9: (STARTED, "csv"), 10: (OVERLAP, "csv-utc"), 12: (OVERLAP, "xlsx")}
    plan = []
    for i, m in enumerate(month_list):
        window, fmt = windows.get(i, (OVERLAP, "csv"))
        if i == len(month_list) - 1:
            window, fmt = WHOLE, "csv"
        plan.append((m, window, exported[m], fmt, phantoms if i == 2 else []))
        if i == 3:  # the corrected March, a day after April's file
            plan.append((march, OVERLAP, exported[month_list[3]] + dt.timedelta(days=1), "csv", []))
    files: list = [ledgers[0]]
    february = []
    for step, (month, window, at, fmt, extra) in enumerate(plan):
        if month == august and window != WHOLE:
            files.append(ledgers[1])
        for kind in ("lending", "failure"):
            listed = _listed(events + [e for e in extra if e.kind == kind], kind, month, window, at)
            listed.sort(key=lambda row: (row[1], row[0]))
            if step == 2 and kind == "lending":
                # A mistyped return, corrected by the re-upload (the later file wins).
                typo = next(i for i, r in enumerate(listed) if r[2] is not None and r[1] >= _at(march)
                            and r[3] != "幻の貸出")
                device, start, end, text = listed[typo]
                listed[typo] = (device, start, end + dt.timedelta(hours=7), text)
            f = MonthFile(month, kind, window, at, fmt, listed, _render(kind, fmt, listed))
            files.append(f)
            if step == 1:
                february.append(f)
        if month == _month_add(first, 5):
            files += february  # February's files once more, byte-identical
    classes = {d.number: d.cls for d in everyone}
    return History(ledgers, classes, events, files, month_list, counts_off=(initial[4].number,))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/optiserve-exports")
    p.add_argument("--devices", type=int, default=15_000)
    p.add_argument("--lending-mb", type=float, default=10)
    p.add_argument("--failure-mb", type=float, default=1)
    p.add_argument("--dirty", type=float, default=0.01)
    p.add_argument("--variant", type=int, default=0, choices=[0, 1, 2])
    p.add_argument("--month", default="2025-10")
    p.add_argument("--seed", type=int, default=1)
    return p


if __name__ == "__main__":
    for name, path in generate(parser().parse_args()).items():
        print(f"{name:14s} {os.path.getsize(path) / 1e6:7.2f} MB  {path}")
