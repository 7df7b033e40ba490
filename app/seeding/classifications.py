"""Seeds of the classification area: the SMDS master, the demo hospitals' own
classifications (real hospitals' three-level lists, assigned to the fictional demo
hospitals) and a starting list of makers with their usual spellings. Idempotent."""
from __future__ import annotations

import csv
from pathlib import Path

from app.core.normalize import maker_key, match_key, normalize_text
from app.extensions import db
from app.models import Classification, Maker, MakerAlias, Organization
from app.services.classifications.mapping import ensure_hospital_classifications

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
MASTER_CSV = SEEDS_DIR / "smds_classification_master.csv"
HOSPITAL_CSV = SEEDS_DIR / "hospital_classifications_demo.csv"
# The alias master of the major Japanese ME makers: (maker, spelling) rows, Japanese and
# English names. maker_key already folds width, ㈱/(株)/株式会社 and middle dots, so only
# spellings that differ in words or script are listed.
MAKERS_CSV = SEEDS_DIR / "maker_aliases.csv"

def seed_common_classifications() -> int:
    created = 0
    existing = {
        c.normalized_name for c in db.session.query(Classification).filter(
            Classification.hospital_id.is_(None), Classification.level == 1,
            Classification.parent_id.is_(None),
        )
    }
    with MASTER_CSV.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip().isdigit():
                continue
            name = normalize_text(row[1])
            key = match_key(name)
            if key in existing:
                continue
            # The master's own spelling (full-width digits and letters) is kept for display.
            db.session.add(Classification(hospital_id=None, level=1, code=row[0].strip(),
                                          name=row[1].strip(), normalized_name=key, is_active=True))
            existing.add(key)
            created += 1
    db.session.flush()
    return created


def seed_hospital_classifications() -> int:
    """Each demo hospital's rows become paths (level-1 name, level-2 name, level-3 name)."""
    with HOSPITAL_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_id = {row["source_id"]: row for row in rows}
    paths: dict[str, list[tuple[str, ...]]] = {}
    for row in rows:
        chain, node, seen = [], row, set()
        while node is not None and node["source_id"] not in seen:
            seen.add(node["source_id"])
            chain.append(node["name"])
            node = by_id.get(node["parent_source_id"]) if node["parent_source_id"] else None
        if len(chain) != int(row["level"]):
            continue
        paths.setdefault(row["hospital_code"], []).append(tuple(reversed(chain)))
    total = 0
    for code, hospital_paths in paths.items():
        hospital = db.session.query(Organization).filter_by(code=code).one_or_none()
        if hospital is None:
            continue
        if db.session.query(Classification.id).filter_by(hospital_id=hospital.id).first():
            continue
        total += len(ensure_hospital_classifications(db.session, hospital.id, hospital_paths))
    return total


def maker_master() -> dict[str, list[str]]:
    """``{maker name: [spellings]}`` from seeds/maker_aliases.csv, in file order."""
    makers: dict[str, list[str]] = {}
    with MAKERS_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name, alias = row["maker"].strip(), row["alias"].strip()
            if name and alias:
                makers.setdefault(name, []).append(alias)
    return makers


def seed_makers() -> int:
    """Create the master's makers and spellings. A spelling that an upload already made into
    a maker of its own (TERUMO next to テルモ株式会社) is merged into the master's maker, so
    its devices move too; a maker of the master is never merged into another."""
    from app.services.classifications.makers import merge_makers

    master = maker_master()
    created = 0
    for name, spellings in master.items():
        maker = db.session.query(Maker).filter_by(name=name).one_or_none()
        if maker is None:
            maker = Maker(name=name)
            db.session.add(maker)
            db.session.flush()
            created += 1
        for spelling in [name, *spellings]:
            key = maker_key(spelling)
            owner = db.session.query(MakerAlias).filter_by(normalized_alias=key).one_or_none()
            if owner is None:
                db.session.add(MakerAlias(maker_id=maker.id, alias=spelling, normalized_alias=key))
                db.session.flush()
            elif owner.maker_id != maker.id and owner.maker.name not in master:
                merge_makers(db.session, owner.maker_id, maker.id)
    return created


