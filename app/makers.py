"""Makers (メーカー) and their spellings: adding aliases and merging duplicates."""
from __future__ import annotations

from sqlalchemy import update

from . import audit
from .models import Equipment, Maker, MakerAlias
from .normalize import maker_key, normalize_text


class MakerError(ValueError):
    """A refused maker change; the message is shown as is."""


def add_alias(session, maker: Maker, spelling: str, actor=None) -> MakerAlias:
    key = maker_key(spelling)
    if not key:
        raise MakerError("表記を入力してください。")
    existing = session.query(MakerAlias).filter_by(normalized_alias=key).one_or_none()
    if existing is not None:
        if existing.maker_id == maker.id:
            return existing
        raise MakerError(f"表記「{spelling}」は既にメーカー「{existing.maker.name}」のものです。")
    alias = MakerAlias(maker_id=maker.id, alias=normalize_text(spelling)[:200], normalized_alias=key)
    session.add(alias)
    session.flush()
    audit.record("maker.alias_add", maker, actor=actor, changes={"alias": alias.alias})
    return alias


def merge_makers(session, source_id: int, target_id: int, actor=None) -> dict[str, int]:
    """Merge ``source`` into ``target``: its aliases and devices move, then it is deleted."""
    if source_id == target_id:
        raise MakerError("統合元と統合先に同じメーカーは指定できません。")
    source, target = session.get(Maker, source_id), session.get(Maker, target_id)
    if source is None or target is None:
        raise MakerError("メーカーが見つかりません。")
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
