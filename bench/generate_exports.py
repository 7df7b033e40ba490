"""Generate realistic hospital ME-system exports for the ingest benchmark.

One hospital-month: a ledger (default 15,000 devices, ~3 MB), a lending history (~10 MB)
and a failure history (~1 MB), each as CP932 CSV and as xlsx. Headers come in vendor
variants (機器番号 / ME番号 / 管理番号 …); values mix full and half width, ㈱ and 株式会社,
trailing spaces and several date forms (2023/04/01, 2023-4-1, 20230401, R5.4.1, Excel
dates in xlsx). ``--dirty`` sets the share of rows with a problem (blank or unknown
device number, impossible date, return before lending, duplicate device number).

    python bench/generate_exports.py --out /tmp/exports [--devices 15000] [--lending-mb 10]
        [--failure-mb 1] [--dirty 0.01] [--variant 0|1|2] [--month 2025-10] [--seed 1]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random

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
    ("生体情報モニタ", "ベッドサイドモニタ", "BSM-6301", "日本光電工業㈱"),
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
