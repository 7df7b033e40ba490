"""Makers: spellings resolve to one maker, unknown ones are created, operators merge."""
from app.extensions import db
from app.models import AuditEvent, Equipment, Maker, MakerAlias, Organization
from app.services.classifications.makers import normalize_maker, resolve_makers

from .conftest import HOSPITAL_A, OPERATOR, login_as


def maker(name):
    return db.session.query(Maker).filter_by(name=name).one()


def test_seeded_spellings_resolve_to_one_maker(ctx):
    ge = maker("GEヘルスケア・ジャパン株式会社")
    for spelling in ["ＧＥヘルスケア・ジャパン㈱", "GEヘルスケア・ジャパン(株)", "GE Healthcare Japan",
                     "ＧＥ　ヘルスケア・ジャパン 株式会社", "ge healthcare japan co., ltd."]:
        assert normalize_maker(db.session, spelling) == ge, spelling
    assert normalize_maker(db.session, "ﾃﾙﾓ㈱") == maker("テルモ株式会社")
    assert normalize_maker(db.session, "存在しないメーカー") is None
    assert normalize_maker(db.session, "  ") is None


def test_resolve_makers_in_bulk_creates_unknown_once(ctx):
    before = db.session.query(Maker).count()
    result = resolve_makers(db.session, ["アトムメディカル㈱", "新興医科㈱", "新興医科株式会社", "", None,
                                         "ＮＩＰＲＯ"])
    db.session.commit()
    assert result["アトムメディカル㈱"] == maker("アトムメディカル株式会社").id
    assert result["ＮＩＰＲＯ"] == maker("ニプロ株式会社").id
    assert result["新興医科㈱"] == result["新興医科株式会社"]
    assert "" not in result
    assert db.session.query(Maker).count() == before + 1
    again = resolve_makers(db.session, ["新興医科(株)"])
    assert again["新興医科(株)"] == result["新興医科㈱"]
    assert resolve_makers(db.session, ["未登録メーカー"], create=False) == {}


def test_operator_merges_two_makers(client, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    source, target = maker("コヴィディエンジャパン株式会社"), maker("メドトロニック株式会社")
    db.session.add_all([
        Equipment(hospital_id=hospital.id, device_number="M-1", maker_id=source.id),
        Equipment(hospital_id=hospital.id, device_number="M-2", maker_id=source.id),
    ])
    db.session.commit()
    source_id, target_id = source.id, target.id
    aliases = db.session.query(MakerAlias).filter_by(maker_id=source_id).count()
    login_as(client, OPERATOR)
    assert client.get("/makers/").status_code == 200
    res = client.post("/makers/merge", data={"source_id": source_id, "target_id": target_id},
                      follow_redirects=True)
    assert "統合しました" in res.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Maker, source_id) is None
    assert {e.maker_id for e in db.session.query(Equipment)} == {target_id}
    assert db.session.query(MakerAlias).filter_by(maker_id=target_id).count() >= aliases + 1
    assert normalize_maker(db.session, "コヴィディエン").id == target_id
    assert db.session.query(AuditEvent).filter_by(action="maker.merge").count() == 1


def test_merge_refuses_same_maker_and_alias_of_another(client, ctx):
    terumo, nipro = maker("テルモ株式会社"), maker("ニプロ株式会社")
    login_as(client, OPERATOR)
    res = client.post("/makers/merge", data={"source_id": terumo.id, "target_id": terumo.id},
                      follow_redirects=True)
    assert "同じメーカー" in res.get_data(as_text=True)
    res = client.post(f"/makers/{nipro.id}/alias", data={"alias": "ﾃﾙﾓ"}, follow_redirects=True)
    assert "既にメーカー「テルモ株式会社」" in res.get_data(as_text=True)
    client.post(f"/makers/{nipro.id}/alias", data={"alias": "NIPRO CORPORATION"})
    assert normalize_maker(db.session, "Nipro Corporation").id == nipro.id


def test_hospital_user_cannot_merge(client, ctx):
    a, b = maker("テルモ株式会社"), maker("ニプロ株式会社")
    login_as(client, HOSPITAL_A)
    assert client.post("/makers/merge", data={"source_id": a.id, "target_id": b.id}).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(Maker, a.id) is not None


MAKER_SPELLINGS = [
    ("テルモ株式会社", ["TERUMO", "テルモ㈱", "ﾃﾙﾓ"]),
    ("オムロンヘルスケア株式会社", ["OMRON", "オムロンヘルスケア株式会社"]),
    ("コニカミノルタ株式会社", ["KONICA MINOLTA", "コニカミノルタ(株)"]),
    ("アトムメディカル株式会社", ["ATOM", "アトムメディカル"]),
    ("アルジョ・ジャパン株式会社", ["Arjo", "アルジョ・ジャパン"]),
    ("エルベ・ジャパン株式会社", ["ERBE", "エルベ・ジャパン"]),
    ("フィッシャー・アンド・パイケル・ヘルスケア株式会社", ["F&P", "Fisher & Paykel"]),
]


def test_makers_across_scripts_resolve_to_one_seeded_maker(ctx):
    before = db.session.query(Maker).count()
    spellings = [s for _name, group in MAKER_SPELLINGS for s in group]
    resolved = resolve_makers(db.session, spellings)
    for name, group in MAKER_SPELLINGS:
        assert {resolved[s] for s in group} == {maker(name).id}, name
    assert db.session.query(Maker).count() == before  # nothing new: all from the master


def test_maker_master_is_a_csv_and_seeding_again_changes_nothing(ctx):
    from app.seeding.classifications import maker_master, seed_makers

    master = maker_master()
    for name in ("日本光電工業株式会社", "フクダ電子株式会社", "ニプロ株式会社", "大研医器株式会社",
                 "川本産業株式会社", "泉工医科工業株式会社", "日機装株式会社", "株式会社JMS", "株式会社トップ",
                 "バクスター株式会社", "ビー・ブラウンエースクラップ株式会社", "ハミルトン・メディカル株式会社",
                 "マシモジャパン株式会社"):
        assert name in master
    aliases = db.session.query(MakerAlias).count()
    assert seed_makers() == 0
    assert db.session.query(MakerAlias).count() == aliases


def test_seed_merges_a_maker_an_upload_split_off(ctx):
    """Before the master knew KONICA MINOLTA, an upload made it a maker of its own."""
    from app.core.normalize import maker_key
    from app.seeding.classifications import seed_makers

    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    split = Maker(name="KONICA MINOLTA")
    db.session.add(split)
    db.session.flush()
    db.session.query(MakerAlias).filter_by(normalized_alias=maker_key("KONICA MINOLTA")).update(
        {"maker_id": split.id})
    db.session.add(Equipment(hospital_id=hospital.id, device_number="K-1", maker_id=split.id))
    db.session.commit()
    seed_makers()
    db.session.commit()
    assert db.session.query(Maker).filter_by(name="KONICA MINOLTA").one_or_none() is None
    device = db.session.query(Equipment).filter_by(device_number="K-1").one()
    assert device.maker_id == maker("コニカミノルタ株式会社").id
    assert normalize_maker(db.session, "KONICA MINOLTA") == maker("コニカミノルタ株式会社")
