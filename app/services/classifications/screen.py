"""Screen 7 at real scale: one page (50 rows) of a hospital's classifications under a filter,
suggestions computed for that page only, and the bulk "accept every top suggestion ≥
threshold on this filter" as a preview and then an apply of exactly what was previewed.

Pure service: the caller passes the session, the hospital id (already checked against the
user's scope), the filter and the actor; nothing here reads the request.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import aliased

from app.core.normalize import match_key, normalize_text
from app.models import Classification
from app.services.classifications.evidence import Suggester
from app.services.classifications.mapping import SUGGESTION, device_counts, set_mapping
from app.services.classifications.suggest import AUTO_ACCEPT_THRESHOLD

PER_PAGE = 50
MIN_THRESHOLD = 50.0
STATUSES = ("all", "unmapped", "mapped")
# Device-count filter: value → (minimum, maximum or None).
DEVICE_FILTERS = {"": None, "0": (0, 0), "1": (1, None), "10": (10, None), "100": (100, None)}


def search_key(text: str | None) -> str:
    """NFKC + case-fold: ＴＥ－２８１Ａ, te-281a and ﾃﾙﾓ find their ordinary spellings."""
    return normalize_text(text).casefold()


@dataclass(frozen=True)
class MappingFilter:
    q: str = ""
    level: int | None = None
    status: str = "all"
    devices: str = ""

    @classmethod
    def parse(cls, values) -> MappingFilter:
        """From request args or a JSON object; unknown values fall back to "all"."""
        def get(key):
            value = values.get(key) if values is not None else None
            return "" if value is None else str(value).strip()

        level = get("level")
        status = get("status")
        devices = get("devices")
        return cls(
            q=get("q")[:100],
            level=int(level) if level in ("1", "2", "3") else None,
            status=status if status in STATUSES else "all",
            devices=devices if devices in DEVICE_FILTERS else "",
        )

    def as_dict(self) -> dict:
        return {"q": self.q, "level": self.level, "status": self.status, "devices": self.devices}


def _matches(f: MappingFilter, row: dict) -> bool:
    if f.level is not None and row["level"] != f.level:
        return False
    mapped = row["smds_classification_id"] is not None
    if (f.status == "mapped" and not mapped) or (f.status == "unmapped" and mapped):
        return False
    bounds = DEVICE_FILTERS[f.devices]
    if bounds is not None:
        low, high = bounds
        if row["device_count"] < low or (high is not None and row["device_count"] > high):
            return False
    if f.q:
        needle, key = search_key(f.q), match_key(f.q)
        hay = search_key(row["name"])
        if needle not in hay and not (key and key in match_key(row["name"])):
            return False
    return True


def filtered_rows(session, hospital_id: int, f: MappingFilter) -> tuple[list[dict], dict]:
    """The hospital's classifications under ``f`` without suggestions, unmapped first
    (then most devices, level, name), and the hospital's totals."""
    parent = aliased(Classification)
    grandparent = aliased(Classification)
    smds = aliased(Classification)
    query = (
        session.query(Classification.id, Classification.level, Classification.name,
                      Classification.normalized_name, parent.name, Classification.smds_classification_id,
                      smds.name, Classification.mapping_method, parent.smds_classification_id,
                      grandparent.name, grandparent.smds_classification_id)
        # The parent and grandparent are the same hospital's by construction; said again here.
        .outerjoin(parent, (parent.id == Classification.parent_id) & (parent.hospital_id == hospital_id))
        .outerjoin(grandparent, (grandparent.id == parent.parent_id) & (grandparent.hospital_id == hospital_id))
        .outerjoin(smds, smds.id == Classification.smds_classification_id)
        .filter(Classification.hospital_id == hospital_id, Classification.is_active.is_(True))
    )
    counts = device_counts(session, hospital_id)
    rows = [
        {"id": cid, "level": level, "name": name, "normalized_name": key, "parent": parent_name,
         "device_count": counts.get(cid, 0), "smds_classification_id": smds_id,
         "smds_classification_name": smds_name, "mapping_method": method,
         "parent_context": _parent_context(parent_name, parent_smds_id, grand_name, grand_smds_id)}
        for (cid, level, name, key, parent_name, smds_id, smds_name, method,
             parent_smds_id, grand_name, grand_smds_id) in query
    ]
    totals = {"all": len(rows), "unmapped": sum(1 for r in rows if r["smds_classification_id"] is None)}
    rows = [r for r in rows if _matches(f, r)]
    # Unmapped first; within each, the classes that weigh most in the reports (most devices).
    rows.sort(key=lambda r: (r["smds_classification_id"] is not None, -r["device_count"], r["level"],
                             r["name"], r["id"]))
    return rows, totals


def _parent_context(parent_name, parent_smds_id, grand_name, grand_smds_id) -> tuple:
    """The parent context ``suggest_cached`` takes after ``limit``: the parent's name, its
    mapped class and the grandparent as ``(name, mapped class)``. All of it is in the cache key,
    so a page after the parent (or grandparent) is mapped or unmapped ranks afresh."""
    grandparent = (grand_name, grand_smds_id) if grand_name is not None else None
    return (parent_name, parent_smds_id, grandparent)


def mapping_page(session, hospital_id: int, f: MappingFilter, page: int = 1,
                 per_page: int = PER_PAGE) -> dict:
    """One page of screen 7: rows with their top-3 suggestions, and the counts to page on."""
    rows, totals = filtered_rows(session, hospital_id, f)
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(1, page), pages)
    chosen = rows[(page - 1) * per_page: page * per_page]
    suggester = Suggester(session, hospital_id, [row["id"] for row in chosen])
    for row in chosen:
        row["suggestions"] = suggester(row)
        del row["normalized_name"], row["parent_context"]
    return {"rows": chosen, "page": page, "pages": pages, "per_page": per_page, "matched": len(rows),
            "total": totals["all"], "unmapped": totals["unmapped"], "filter": f.as_dict()}


def clamp_threshold(value) -> float:
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        return AUTO_ACCEPT_THRESHOLD
    if threshold != threshold:  # NaN
        return AUTO_ACCEPT_THRESHOLD
    return min(max(threshold, MIN_THRESHOLD), 100.0)


def bulk_preview(session, hospital_id: int, f: MappingFilter, threshold: float) -> list[dict]:
    """What "accept all top suggestions ≥ threshold on this filter" would change: the
    unmapped rows of the filter whose first suggestion scores ≥ threshold, most devices
    first, each with the suggestion it would get."""
    threshold = clamp_threshold(threshold)
    rows, _ = filtered_rows(session, hospital_id, f)
    unmapped = [row for row in rows if row["smds_classification_id"] is None]
    suggester = Suggester(session, hospital_id, [row["id"] for row in unmapped])
    changes = []
    for row in unmapped:
        best = suggester(row, limit=1)
        if best and best[0]["score"] >= threshold:
            changes.append({"id": row["id"], "level": row["level"], "name": row["name"],
                            "parent": row["parent"], "device_count": row["device_count"],
                            "smds_classification_id": best[0]["id"],
                            "smds_classification_name": best[0]["name"], "score": best[0]["score"]})
    changes.sort(key=lambda c: (-c["device_count"], c["name"], c["id"]))
    return changes


def bulk_apply(session, hospital_id: int, f: MappingFilter, threshold: float,
               previewed: list[dict] | None, actor=None) -> list[dict]:
    """Apply the preview the user saw: each ``{"id", "smds_classification_id"}`` pair is
    mapped only if it is still in a fresh preview of the same filter and threshold with the
    same suggestion (a row mapped meanwhile, or whose suggestion changed, is left alone).
    ``previewed`` None applies the fresh preview as is (machines). Flushes; the caller commits."""
    fresh = bulk_preview(session, hospital_id, f, threshold)
    if previewed is not None:
        wanted = set()
        for item in previewed:
            if isinstance(item, dict):
                cid, sid = item.get("id"), item.get("smds_classification_id")
                if isinstance(cid, int) and isinstance(sid, int) and not isinstance(cid, bool):
                    wanted.add((cid, sid))
        fresh = [c for c in fresh if (c["id"], c["smds_classification_id"]) in wanted]
    for change in fresh:
        cls = session.get(Classification, change["id"])
        set_mapping(session, cls, change["smds_classification_id"], SUGGESTION, actor)
    return fresh
