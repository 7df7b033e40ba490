"""A fictional year of equipment activity for the demo hospital さくら台総合病院 (H0001), so the
dashboard, the reports and the ledger screen have something to show on a new local instance;
then a smaller year for the other hospitals the demo manufacturer selects
(app/seeding/demo_peers.py), so its pooled analysis has the 3 hospitals it needs.

Only ``flask optiserve seed demo`` (which run.py runs) calls this; the test suite never does
(but for tests of this data). Refused in production, like the demo accounts. Deterministic
(fixed random seeds) and idempotent: a hospital that has devices is left alone.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random

from flask import current_app
from sqlalchemy import func, insert, select

from app.core.months import add_months, previous_month, utc_now
from app.extensions import db
from app.models import (
    Classification,
    Equipment,
    Failure,
    Lending,
    Organization,
    ReportFile,
    UploadFile,
    UploadStatus,
    UploadType,
    User,
)
from app.services.classifications.makers import resolve_makers
from app.services.ledger.device_months import list_devices
from app.services.reports import refresh_statistics
from app.services.stored_messages import japanese, part

HOSPITAL_CODE = "H0001"
MONTHS = 13
DEMO_UPLOADER = "user@sakura-hp.example.jp"
DEMO = part("upload.demo")  # the message of a demo upload, shown in the reader's language
DEPARTMENTS = ["ICU", "HCU", "救命救急センター", "3階東病棟", "4階西病棟", "5階東病棟", "手術室", "NICU",
               "小児科病棟", "外来処置室"]

# (level-2 classification of H0001, product, model, maker, devices, lendings a month per
# device, mean hours of a lending, failures a month)
DEVICE_TYPES = [
    ("輸液ポンプ", "テルフュージョン輸液ポンプ", "TE-281A", "テルモ株式会社", 120, 2.5, 90, 3),
    ("シリンジポンプ", "テルフュージョンシリンジポンプ", "TE-351", "テルモ株式会社", 90, 2.2, 70, 2),
    ("パルスオキシメータ", "パルスオキシメータ", "OLV-3100", "日本光電工業株式会社", 40, 3.0, 40, 1),
    ("除細動器", "カルジオライフ", "TEC-5631", "日本光電工業株式会社", 8, 0.6, 6, 0.2),
    ("汎用心電計", "カーディマックス", "FCP-8800", "フクダ電子株式会社", 10, 6.0, 2, 0.3),
    ("開放式保育器", "インファントウォーマー", "IW-930", "アトムメディカル株式会社", 6, 1.5, 150, 0.2),
    ("電動式低圧吸引器", "メラサキューム", "MS-009", "泉工医科工業株式会社", 25, 1.8, 120, 0.6),
]


FAILURE_DESCRIPTIONS = ["アラームが鳴り止まない", "表示不良", "バッテリー劣化", "落下破損"]

def _classifications(hospital_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Classification.name, Classification.id)
        .where(Classification.hospital_id == hospital_id, Classification.level == 2)
    )
    return {name: id_ for name, id_ in rows}


def demo_months(today: dt.date | None = None) -> list[dt.date]:
    """The 13 months of the demo year, ending with the month before ``today``'s."""
    last_month = previous_month(today) if today else previous_month()
    return [add_months(last_month, offset) for offset in range(-MONTHS + 1, 1)]


def seed_demo_activity(today: dt.date | None = None) -> str:
    """H0001's year, then the smaller years of the other hospitals the demo manufacturer
    selects (app/seeding/demo_peers.py), each only when that hospital has no device yet."""
    from app.seeding.demo_peers import seed_peer_activity
    from app.seeding.seed import refuse_in_production

    refuse_in_production(current_app.config)
    own, loaded = _seed_demo_hospital(today)
    peers = seed_peer_activity(demo_months(today))
    if loaded or peers:
        refresh_statistics()  # a year of rows just loaded: the first screens must not wait for autovacuum
    return own + "".join(f"; {line}" for line in peers)


def _seed_demo_hospital(today: dt.date | None) -> tuple[str, bool]:
    """H0001's devices and year (unchanged since the tests and benches were written against
    them: 299 devices, 859 classifications). Returns the message and whether rows were loaded."""
    hospital = db.session.query(Organization).filter_by(code=HOSPITAL_CODE).one_or_none()
    if hospital is None:
        return "demo activity: no demo hospital", False
    if db.session.query(Equipment.id).filter_by(hospital_id=hospital.id).first():
        uploads = seed_demo_uploads(hospital)  # instances seeded before the records existed
        return "demo activity: already present" + (f"; {uploads}" if uploads else ""), bool(uploads)
    rng = random.Random(2026)
    months = demo_months(today)
    classes = _classifications(hospital.id)
    makers = resolve_makers(db.session, [t[3] for t in DEVICE_TYPES])

    devices, profile = [], {}
    for class_name, product, model, maker, count, _rate, _hours, _fails in DEVICE_TYPES:
        for n in range(count):
            number = f"ME{len(devices) + 1:05d}"
            delivered = dt.date(2012, 4, 1) + dt.timedelta(days=rng.randrange(12 * 365))
            devices.append(dict(
                hospital_id=hospital.id, device_number=number, classification_id=classes.get(class_name),
                product_name=product, model_number=model, maker_id=makers.get(maker), maker_name=maker,
                serial_number=f"{model}-{10000 + n}", department_use=rng.choice(DEPARTMENTS),
                delivered_on=delivered, expires_on=delivered.replace(year=delivered.year + 8),
                default_counts=True,
            ))
            profile[number] = class_name
    db.session.execute(insert(Equipment), devices)
    ids = dict(db.session.execute(
        select(Equipment.device_number, Equipment.id).where(Equipment.hospital_id == hospital.id)
    ).all())
    # One ledger, of the first month, lists every device (in force for the whole year).
    list_devices(db.session, hospital.id, months[0], ids.values())
    by_type = {t[0]: t for t in DEVICE_TYPES}

    lendings, failures = [], []
    for month in months:
        start = dt.datetime(month.year, month.month, 1)
        seconds = (dt.datetime.combine(add_months(month, 1), dt.time()) - start).total_seconds()
        for number, class_name in profile.items():
            _c, _p, _m, _mk, _n, rate, hours, fails = by_type[class_name]
            for _ in range(poisson(rng, rate)):
                lent = start + dt.timedelta(seconds=rng.random() * seconds)
                returned = lent + dt.timedelta(hours=rng.expovariate(1 / hours))
                lendings.append(dict(hospital_id=hospital.id, equipment_id=ids[number], month=month,
                                     lent_at=lent, returned_at=returned, department=rng.choice(DEPARTMENTS)))
        for class_name, (_c, _p, _m, _mk, _count, _r, _h, fails) in by_type.items():
            candidates = [n for n, c in profile.items() if c == class_name]
            for _ in range(poisson(rng, fails)):
                failed = start + dt.timedelta(seconds=rng.random() * seconds)
                repaired = failed + dt.timedelta(hours=rng.expovariate(1 / 200))
                failures.append(dict(hospital_id=hospital.id, equipment_id=ids[rng.choice(candidates)],
                                     month=month, failed_at=failed, repaired_at=repaired,
                                     description=rng.choice(FAILURE_DESCRIPTIONS)))
    db.session.execute(insert(Lending), lendings)
    db.session.execute(insert(Failure), failures)
    db.session.commit()
    uploads = seed_demo_uploads(hospital)
    return (f"demo activity: {len(devices)} devices, {len(lendings)} lendings, "
            f"{len(failures)} failures for {months[0]:%Y-%m}..{months[-1]:%Y-%m}; {uploads}"), True


def seed_demo_uploads(hospital: Organization, uploader: str | None = DEMO_UPLOADER,
                      names: tuple[str, str, str] = ("機器台帳", "貸出履歴", "故障履歴")) -> str | None:
    """The upload records of the demo data: each month with lendings got its three files
    (ledger, lending, failure history, named ``names``), imported on the 3rd of the next month
    at 10:00 JST (or an hour ago, when that is still to come) by ``uploader`` (the hospital's
    demo user; None: nobody known), so the upload screen's history matches the dashboard's
    months. Records only (no stored file, marked as fetched by the on-prem system); None when
    the hospital already has upload records."""
    if db.session.query(UploadFile.id).filter_by(hospital_id=hospital.id).first():
        return None
    months = sorted(db.session.scalars(select(Lending.month).where(Lending.hospital_id == hospital.id).distinct()))
    if not months:
        return None
    devices = db.session.scalar(select(func.count(Equipment.id)).where(Equipment.hospital_id == hospital.id))
    lendings = dict(db.session.execute(select(Lending.month, func.count(Lending.id))
                                       .where(Lending.hospital_id == hospital.id).group_by(Lending.month)).all())
    failures = dict(db.session.execute(select(Failure.month, func.count(Failure.id))
                                       .where(Failure.hospital_id == hospital.id).group_by(Failure.month)).all())
    uploader_id = db.session.scalar(select(User.id).where(User.email == uploader)) if uploader else None
    names = dict(zip((UploadType.ledger, UploadType.lending, UploadType.failure), names))
    rows = []
    # Seeded on the 1st or 2nd, last month's files would have been received in the future (the
    # upload screen listed them above the user's own, newer upload): never later than now.
    latest = utc_now() - dt.timedelta(hours=1)
    for month in months:
        # 10:00 JST on the 3rd of the next month, stored as naive UTC (01:00)
        at = min(dt.datetime.combine(add_months(month, 1).replace(day=3), dt.time(1, 0)), latest)
        for file_type, count in ((UploadType.ledger, devices), (UploadType.lending, lendings.get(month, 0)),
                                 (UploadType.failure, failures.get(month, 0))):
            name = f"{names[file_type]}_{month:%Y%m}.csv"
            rows.append(dict(
                hospital_id=hospital.id, month=month, file_type=int(file_type), original_name=name,
                storage_key=None, size=0, sha256=hashlib.sha256(f"demo:{hospital.code}:{name}".encode()).hexdigest(),
                detected_format="csv", status=UploadStatus.succeeded.value,
                message=japanese([DEMO]), message_parts=[DEMO],
                rows_total=count, rows_imported=count, rows_rejected=0, uploaded_by_id=uploader_id,
                uploaded_at=at, started_at=at, finished_at=at + dt.timedelta(minutes=1),
                fetched_at=at + dt.timedelta(hours=1)))
    db.session.execute(insert(UploadFile), rows)
    db.session.commit()
    return f"{len(rows)} upload records for {months[0]:%Y-%m}..{months[-1]:%Y-%m}"


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small."""
    limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def generate_demo_reports() -> str:
    """Make last month's reports for each demo hospital, unless they exist (about 0.3-0.5 s
    a hospital). A worker may be running a hospital's reports already (the seed run again on
    a live instance): take turns, and skip that hospital rather than wait long."""
    from app.infra.locks import DEFAULT_HOLD_SECONDS, hospital_reports_lock
    from app.seeding.demo_peers import PEER_HOSPITALS
    from app.services.reports.service import generate_reports

    month = previous_month()
    codes = (HOSPITAL_CODE, *(peer.code for peer in PEER_HOSPITALS))
    outcomes = []
    for hospital in db.session.scalars(select(Organization).where(Organization.code.in_(codes))
                                       .order_by(Organization.code)):
        with hospital_reports_lock(hospital.id, DEFAULT_HOLD_SECONDS,
                                   current_app.config["REPORT_LOCK_WAIT_SECONDS"]) as acquired:
            if not acquired:
                outcomes.append(f"{hospital.code} skipped, a report run is in progress")
            elif db.session.query(ReportFile.id).filter_by(hospital_id=hospital.id, month=month).first():
                outcomes.append(f"{hospital.code} already present")
            else:
                generate_reports(hospital.id, month, notify=False)
                db.session.commit()
                outcomes.append(f"{hospital.code} {month:%Y-%m} generated")
    return "demo reports: " + ("; ".join(outcomes) or "no demo hospital")
