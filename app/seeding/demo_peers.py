"""A smaller fictional year for the demo hospitals other than さくら台総合病院 (H0001) that the
demo manufacturer selects: みなと中央病院 (H0002) and あおば記念病院 (H0003).

Why: a manufacturer sees figures pooled over its selected hospitals, and only where at least
K (3) of them contribute (app/services/partners/manufacturers.py). With H0001 alone every row
was hidden and the demo manufacturer's analysis said 「データがありません」.

Each hospital files the same models as H0001 (TE-281A, TE-351, OLV-3100, TEC-5631, …) in its
own classification list (seeds/hospital_classifications_demo.csv: H0002 at level 2, H0003 with
model-named level-3 rows) and has mapped those classifications to the right SMDS classes, as
its staff would on screen 7. That is also evidence for H0001's screen 7: its unmapped
汎用心電計, 開放式保育器 and 電動式低圧吸引器 hold models the two others map to １２誘導心電計,
開放型保育器 and 低圧持続吸引器 (「同じ型式: 他院2施設」). H0001 itself is never touched: its
devices, classifications and mappings stay as app/seeding/demo_activity.py makes them.

Only ``seed_demo_activity`` (``flask optiserve seed demo``) calls this. Deterministic (a fixed
random seed per hospital) and idempotent: a hospital that has devices is left alone.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import insert, select

from app.core.months import add_months
from app.core.normalize import normalize_text
from app.extensions import db
from app.models import Classification, Equipment, Failure, Lending, Organization, User
from app.seeding.demo_activity import poisson, seed_demo_uploads
from app.services.classifications.makers import resolve_makers
from app.services.classifications.mapping import MANUAL, ensure_hospital_classifications, set_mapping
from app.services.ledger.device_months import list_devices


@dataclass(frozen=True)
class DeviceType:
    path: tuple[str, ...]  # the hospital's own classification (level-1, level-2[, level-3] names)
    smds: str  # the SMDS class the hospital maps it (and its unmapped level-2+ ancestors) to
    product: str
    model: str
    maker: str
    devices: int
    lendings: float  # a month per device
    hours: float  # mean length of a lending
    failures: float  # a month, all devices of the type


@dataclass(frozen=True)
class PeerHospital:
    code: str
    seed: int
    number_prefix: str
    serial_base: int
    uploader: str | None  # the hospital's demo user who "uploaded" its monthly files
    file_names: tuple[str, str, str]  # its own export names: ledger, lending, failure history
    departments: tuple[str, ...]
    types: tuple[DeviceType, ...]


TERUMO, NIHON_KOHDEN, FUKUDA = "テルモ株式会社", "日本光電工業株式会社", "フクダ電子株式会社"
ATOM, SENKO = "アトムメディカル株式会社", "泉工医科工業株式会社"

PEER_HOSPITALS = (
    PeerHospital(
        code="H0002", seed=2027, number_prefix="MN-", serial_base=20000,
        uploader="user@minato-hp.example.jp", file_names=("ME機器一覧", "貸出記録", "修理記録"),
        departments=("ICU", "救急外来", "3階病棟", "4階病棟", "5階病棟", "手術室", "外来"),
        types=(
            DeviceType(("医薬品注入器", "汎用輸液ポンプ"), "輸液ポンプ", "テルフュージョン輸液ポンプ",
                       "TE-281A", TERUMO, 45, 2.2, 80, 1.2),
            DeviceType(("医薬品注入器", "注射筒輸液ポンプ"), "シリンジポンプ",
                       "テルフュージョンシリンジポンプ", "TE-351", TERUMO, 30, 2.0, 65, 0.8),
            DeviceType(("内臓機能検査用器具", "パルスオキシメータ"), "パルスオキシメータ", "パルスオキシメータ",
                       "OLV-3100", NIHON_KOHDEN, 15, 2.6, 36, 0.4),
            DeviceType(("理学診療用器具", "手動式除細動器"), "除細動器", "カルジオライフ", "TEC-5631",
                       NIHON_KOHDEN, 4, 0.5, 5, 0.1),
            DeviceType(("内臓機能検査用器具", "汎用心電計"), "１２誘導心電計", "カーディマックス", "FCP-8800",
                       FUKUDA, 4, 5.0, 2, 0.1),
            # Rows its ledger added to its list (the ingest creates them; exact SMDS names map at once).
            DeviceType(("保育器", "開放型保育器"), "開放型保育器", "インファントウォーマー", "IW-930",
                       ATOM, 3, 1.2, 140, 0.1),
            DeviceType(("医療用吸引器", "電動式低圧吸引器"), "低圧持続吸引器", "メラサキューム", "MS-009",
                       SENKO, 10, 1.5, 110, 0.2),
        ),
    ),
    PeerHospital(
        code="H0003", seed=2028, number_prefix="AO", serial_base=30000,
        uploader="user@aoba-hp.example.jp", file_names=("機器マスタ", "貸出データ", "故障データ"),
        departments=("ICU", "CCU", "救命救急センター", "NICU", "東3病棟", "西4病棟", "西5病棟", "手術部",
                     "外来化学療法室"),
        types=(
            DeviceType(("ポンプ", "輸液ポンプ", "TE-281A"), "輸液ポンプ", "テルフュージョン輸液ポンプ",
                       "TE-281A", TERUMO, 70, 2.8, 95, 1.8),
            DeviceType(("ポンプ", "シリンジポンプ", "TE-351"), "シリンジポンプ", "テルフュージョンシリンジポンプ",
                       "TE-351", TERUMO, 50, 2.4, 75, 1.2),
            DeviceType(("モニタリング関連", "パルスオキシメータ"), "パルスオキシメータ", "パルスオキシメータ",
                       "OLV-3100", NIHON_KOHDEN, 25, 3.2, 42, 0.6),
            DeviceType(("除細動器", "マニュアル式", "TEC-5631"), "除細動器", "カルジオライフ", "TEC-5631",
                       NIHON_KOHDEN, 6, 0.7, 6, 0.15),
            DeviceType(("モニタリング関連", "心電計", "FCP-8800"), "１２誘導心電計", "カーディマックス",
                       "FCP-8800", FUKUDA, 6, 6.5, 2, 0.2),
            DeviceType(("保育器", "開放型保育器", "インファントウォーマーi"), "開放型保育器",
                       "インファントウォーマー", "IW-930", ATOM, 5, 1.6, 160, 0.15),
            DeviceType(("酸素・空気・吸引", "低圧持続吸引機", "ﾒﾗｻｷｭｰﾑMS-009"), "低圧持続吸引器", "メラサキューム",
                       "MS-009", SENKO, 15, 2.0, 125, 0.4),
        ),
    ),
)

FAILURE_DESCRIPTIONS = ("アラーム異常", "液晶表示不良", "バッテリー交換", "落下による破損", "電源が入らない")


def seed_peer_activity(months: list[dt.date]) -> list[str]:
    """Each peer hospital without devices gets its mappings, devices and a year of lendings and
    failures over ``months`` (H0001's). Returns one line per hospital seeded. Commits."""
    lines = []
    for peer in PEER_HOSPITALS:
        hospital = db.session.query(Organization).filter_by(code=peer.code).one_or_none()
        if hospital is None or db.session.query(Equipment.id).filter_by(hospital_id=hospital.id).first():
            continue
        uploader = db.session.scalar(select(User).where(User.email == peer.uploader)) if peer.uploader else None
        class_ids = _map_classifications(hospital.id, peer.types, uploader)
        devices, lendings, failures = _seed_year(hospital.id, peer, class_ids, months)
        db.session.commit()
        uploads = seed_demo_uploads(hospital, uploader=peer.uploader, names=peer.file_names)
        lines.append(f"{peer.code}: {devices} devices, {lendings} lendings, {failures} failures; {uploads}")
    return lines


def _map_classifications(hospital_id: int, types, actor) -> dict[tuple[str, ...], int]:
    """The hospital's classification of each type (created if its list lacks it), and every
    unmapped row of the path below level 1 mapped to the type's SMDS class, as its staff would."""
    paths = ensure_hospital_classifications(db.session, hospital_id, [t.path for t in types], actor=actor)
    common = dict(db.session.execute(select(Classification.name, Classification.id).where(
        Classification.hospital_id.is_(None), Classification.is_active.is_(True))).all())
    ids = {kind.path: paths[tuple(normalize_text(name) for name in kind.path)] for kind in types}
    for kind in types:
        node = db.session.get(Classification, ids[kind.path])
        while node is not None and node.level > 1:
            if node.smds_classification_id is None:
                set_mapping(db.session, node, common[kind.smds], MANUAL, actor)
            node = db.session.get(Classification, node.parent_id) if node.parent_id else None
    db.session.flush()
    return ids


def _seed_year(hospital_id: int, peer: PeerHospital, class_ids, months) -> tuple[int, int, int]:
    rng = random.Random(peer.seed)
    makers = resolve_makers(db.session, [t.maker for t in peer.types])
    devices, type_of = [], {}
    for kind in peer.types:
        for n in range(kind.devices):
            number = f"{peer.number_prefix}{len(devices) + 1:05d}"
            delivered = dt.date(2013, 4, 1) + dt.timedelta(days=rng.randrange(11 * 365))
            devices.append(dict(
                hospital_id=hospital_id, device_number=number, classification_id=class_ids[kind.path],
                product_name=kind.product, model_number=kind.model, maker_id=makers.get(kind.maker),
                maker_name=kind.maker, serial_number=f"{kind.model}-{peer.serial_base + n}",
                department_use=rng.choice(peer.departments), delivered_on=delivered,
                expires_on=delivered.replace(year=delivered.year + 8), default_counts=True,
            ))
            type_of[number] = kind
    db.session.execute(insert(Equipment), devices)
    ids = dict(db.session.execute(
        select(Equipment.device_number, Equipment.id).where(Equipment.hospital_id == hospital_id)).all())
    list_devices(db.session, hospital_id, months[0], ids.values())  # one ledger, in force all year

    lendings, failures = [], []
    for month in months:
        start = dt.datetime(month.year, month.month, 1)
        seconds = (dt.datetime.combine(add_months(month, 1), dt.time()) - start).total_seconds()
        for number, kind in type_of.items():
            for _ in range(poisson(rng, kind.lendings)):
                lent = start + dt.timedelta(seconds=rng.random() * seconds)
                lendings.append(dict(hospital_id=hospital_id, equipment_id=ids[number], month=month, lent_at=lent,
                                     returned_at=lent + dt.timedelta(hours=rng.expovariate(1 / kind.hours)),
                                     department=rng.choice(peer.departments)))
        for kind in peer.types:
            candidates = [n for n, k in type_of.items() if k is kind]
            for _ in range(poisson(rng, kind.failures)):
                failed = start + dt.timedelta(seconds=rng.random() * seconds)
                failures.append(dict(hospital_id=hospital_id, equipment_id=ids[rng.choice(candidates)],
                                     month=month, failed_at=failed,
                                     repaired_at=failed + dt.timedelta(hours=rng.expovariate(1 / 200)),
                                     description=rng.choice(FAILURE_DESCRIPTIONS)))
    db.session.execute(insert(Lending), lendings)
    if failures:
        db.session.execute(insert(Failure), failures)
    return len(devices), len(lendings), len(failures)
