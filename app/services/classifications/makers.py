"""Makers (メーカー) and their spellings: adding aliases and merging duplicates."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from app.core.normalize import maker_key, normalize_text
from app.models import Equipment, Maker, MakerAlias
from app.services.audit import trail as audit


class MakerError(ValueError):
    """A refused maker change; the message is shown as is."""


def add_alias(session, maker: Maker, spelling: str, actor=None) -> MakerAlias:
    key = maker_key(spelling)
    if not key:
        raise MakerError(_l("表記を入力してください。"))
    existing = session.query(MakerAlias).filter_by(normalized_alias=key).one_or_none()
    if existing is not None:
        if existing.maker_id == maker.id:
            return existing
        raise MakerError(_l("表記「%(spelling)s」は既にメーカー「%(maker)s」のものです。", spelling=spelling,
                              maker=existing.maker.name))
    alias = MakerAlias(maker_id=maker.id, alias=normalize_text(spelling)[:200], normalized_alias=key)
    session.add(alias)
    session.flush()
    audit.record("maker.alias_add", maker, actor=actor, changes={"alias": alias.alias})
    return alias


def merge_makers(session, source_id: int, target_id: int, actor=None) -> dict[str, int]:
    """Merge ``source`` into ``target``: its aliases and devices move, then it is deleted."""
    if source_id == target_id:
        raise MakerError(_l("統合元と統合先に同じメーカーは指定できません。"))
    source, target = session.get(Maker, source_id), session.get(Maker, target_id)
    if source is None or target is None:
        raise MakerError(_l("メーカーが見つかりません。"))
    aliases = session.query(MakerAlias).filter_by(maker_id=source.id).all()
    for alias in aliases:
        alias.maker = target
    devices = session.execute(
        update(Equipment).where(Equipment.maker_id == source.id).values(maker_id=target.id)
    ).rowcount
    if target.organization_id is None and source.organization_id is not None:
        target.organization_id = source.organization_id
    session.flush()
    session.expire(source, ["aliases"])
    audit.record(
        "maker.merge", target, actor=actor,
        changes={"source_id": source.id, "source_name": source.name,
                 "aliases": len(aliases), "devices": devices},
    )
    session.delete(source)
    session.flush()
    return {"aliases": len(aliases), "devices": devices}


def resolve_makers(session, names, *, create: bool = True) -> dict[str, int]:
    """Maker id for each raw spelling in ``names`` (blank spellings are left out).

    Known spellings are found by alias key in one query; unknown ones become a new maker
    (named by the first spelling seen, cleaned) with that spelling as alias when ``create``.
    Safe against a concurrent job creating the same maker: the insert runs in a savepoint
    and a duplicate is read back.
    """
    from sqlalchemy.exc import IntegrityError

    from app.models import Maker, MakerAlias

    by_key: dict[str, list[str]] = {}
    for raw in names:
        if raw is None:
            continue
        key = maker_key(raw)
        if key:
            by_key.setdefault(key, []).append(raw)
    if not by_key:
        return {}
    found: dict[str, int] = {}
    keys = list(by_key)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.query(MakerAlias.normalized_alias, MakerAlias.maker_id).filter(
            MakerAlias.normalized_alias.in_(chunk)
        )
        found.update(dict(rows))
    if create:
        for key in keys:
            if key in found:
                continue
            display = normalize_text(by_key[key][0])[:200]
            try:
                with session.begin_nested():
                    maker = session.query(Maker).filter_by(name=display).one_or_none()
                    if maker is None:
                        maker = Maker(name=display)
                        session.add(maker)
                        session.flush()
                    session.add(MakerAlias(maker_id=maker.id, alias=display, normalized_alias=key))
                    session.flush()
                found[key] = maker.id
            except IntegrityError:
                row = session.query(MakerAlias.maker_id).filter_by(normalized_alias=key).first()
                if row is not None:
                    found[key] = row[0]
    result = {}
    for key, raws in by_key.items():
        if key in found:
            for raw in raws:
                result[raw] = found[key]
    return result


def normalize_maker(session, raw: str | None):
    """The known :class:`Maker` for a spelling, or None (never creates)."""
    from app.models import Maker, MakerAlias

    key = maker_key(raw)
    if not key:
        return None
    return (
        session.query(Maker)
        .join(MakerAlias, MakerAlias.maker_id == Maker.id)
        .filter(MakerAlias.normalized_alias == key)
        .first()
    )
