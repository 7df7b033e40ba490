"""Screen 8 (dealer permissions), the dealer's hospital switch and the dealer scope."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.access.capabilities import (
    DOWNLOAD_REPORTS,
    MAINTAIN_MASTERS,
    MANAGE_DEALERS,
    MANAGE_USERS,
    UPLOAD,
    level_capabilities,
)
from app.access.scope import scope_of
from app.extensions import db
from app.models import DealerPermission, DealerPermissionHistory, Organization
from app.services.partners import dealers
from app.services.unit_of_work import unit_of_work

from .conftest import (
    ADMIN,
    DEALER,
    HOSPITAL_A,
    HOSPITAL_B,
    ORGADMIN_A,
    login_as,
    user_by_email,
)


def org(code):
    return db.session.scalars(select(Organization).where(Organization.code == code)).one()


def set_level(hospital_code, level, reason="テスト", actor_email=HOSPITAL_A, email=DEALER):
    actor = user_by_email(actor_email)
    with unit_of_work():
        permission = dealers.grant(org(hospital_code), email, level, reason, actor)
    return permission


def choose(client, code):
    with client.application.app_context():
        hospital_id = org(code).id
    return client.post("/dealer/choose", data={"hospital": hospital_id})


@pytest.mark.parametrize("level,expected", [
    (1, {UPLOAD, DOWNLOAD_REPORTS}),
    (2, {MAINTAIN_MASTERS}),
    (3, {UPLOAD, DOWNLOAD_REPORTS, MAINTAIN_MASTERS}),
    (9, set()),
])
def test_level_capabilities(level, expected):
    capabilities = level_capabilities(level)
    assert capabilities == expected
    assert MANAGE_USERS not in capabilities and MANAGE_DEALERS not in capabilities


def test_level_2_does_not_include_level_1(ctx):
    """Decision (app/dealers.py): 2 is master maintenance only; 3 is 1 and 2 together."""
    assert not level_capabilities(2) & level_capabilities(1)
    assert level_capabilities(3) == level_capabilities(1) | level_capabilities(2)


def test_grant_requires_dealer_user_and_reason(ctx):
    # an unknown address and another hospital's user get the same answer (no enumeration)
    with pytest.raises(dealers.DealerPermissionError, match="ディーラーのユーザーではありません"):
        set_level("H0001", 1, email="nobody@towa-medical.example.jp")
    with pytest.raises(dealers.DealerPermissionError, match="ディーラーのユーザーではありません"):
        set_level("H0001", 1, email=HOSPITAL_B)
    with pytest.raises(dealers.DealerPermissionError, match="設定理由"):
        set_level("H0001", 1, reason="  ")
    with pytest.raises(dealers.DealerPermissionError, match="付与権限"):
        set_level("H0001", 4)


def test_history_keeps_every_change_and_nothing_is_deleted(ctx):
    hospital = org("H0001")
    dealer = user_by_email(DEALER)
    before = db.session.query(DealerPermissionHistory).filter_by(hospital_id=hospital.id).count()
    set_level("H0001", 1, "アップロード代行のため")
    set_level("H0001", 2, "台帳整備を依頼")
    set_level("H0001", 9, "契約終了")
    rows = db.session.scalars(select(DealerPermission).where(
        DealerPermission.hospital_id == hospital.id, DealerPermission.dealer_user_id == dealer.id)).all()
    assert len(rows) == 1 and rows[0].level == 9 and rows[0].reason == "契約終了"
    history = dealers.history_of_hospital(hospital.id)
    assert len(history) == before + 3
    assert [(h.old_level, h.new_level, h.reason) for h in history[:3]] == [
        (2, 9, "契約終了"), (1, 2, "台帳整備を依頼"), (3, 1, "アップロード代行のため"),
    ]


def test_screen_shows_history_with_reasons_to_hospital_and_admin(client, ctx):
    login_as(client, HOSPITAL_A)
    for level, reason in ((1, "理由その一"), (2, "理由その二"), (9, "理由その三")):
        response = client.post("/dealer-permissions/save", data={
            "email": DEALER, "level": str(level), "reason": reason})
        assert response.status_code == 302
    page = client.get("/dealer-permissions/").get_data(as_text=True)
    for reason in ("理由その一", "理由その二", "理由その三"):
        assert reason in page
    assert "9 無し" in page
    login_as(client, ADMIN)
    response = client.get("/dealer-permissions/")
    assert response.status_code == 200 and "あおば記念病院" in response.get_data(as_text=True)
    page = client.get(f"/dealer-permissions/?hospital={org('H0001').id}").get_data(as_text=True)
    assert "理由その三" in page and "理由その一" in page


def test_screen_refuses_missing_reason_and_non_dealer(client, ctx):
    login_as(client, ORGADMIN_A)
    response = client.post("/dealer-permissions/save", data={"email": DEALER, "level": "1", "reason": ""})
    assert response.status_code == 400
    assert "設定理由を入力してください" in response.get_data(as_text=True)
    response = client.post("/dealer-permissions/save", data={"email": HOSPITAL_B, "level": "1", "reason": "x"})
    assert response.status_code == 400
    assert "ディーラーのユーザーではありません" in response.get_data(as_text=True)


def test_dealer_is_notified_by_mail(client, ctx, monkeypatch):
    sent = []
    monkeypatch.setattr(dealers, "send_mail", lambda to, subject, body: sent.append((to, subject, body)))
    set_level("H0001", 2, "台帳整備の依頼")
    assert sent and sent[0][0] == [DEALER]
    assert "2 マスタ情報の設定" in sent[0][2] and "台帳整備の依頼" in sent[0][2]


def test_hospital_cannot_see_or_set_another_hospitals_permissions(client, ctx):
    login_as(client, HOSPITAL_B)
    page = client.get("/dealer-permissions/").get_data(as_text=True)
    assert "保守契約に基づく作業代行" not in page  # H0001's demo reason
    assert client.get(f"/dealer-permissions/?hospital={org('H0001').id}").status_code == 404
    a_permission = db.session.scalars(select(DealerPermission).where(
        DealerPermission.hospital_id == org("H0001").id)).first()
    assert client.get(f"/dealer-permissions/edit/{a_permission.id}").status_code == 404
    response = client.post("/dealer-permissions/save", data={
        "hospital": org("H0001").id, "email": DEALER, "level": "9", "reason": "乗っ取り"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(DealerPermission, a_permission.id).level == 3


def test_dealer_cannot_manage_dealer_permissions(client, ctx):
    login_as(client, DEALER)
    choose(client, "H0001")  # level 3
    assert client.get("/dealer-permissions/").status_code in (403, 302)
    response = client.post("/dealer-permissions/save", data={"email": DEALER, "level": "3", "reason": "x"})
    assert response.status_code in (403, 302)


# ------------------------------------------------------------------ the dealer's scope


def test_dealer_with_two_hospitals_must_choose(client, ctx):
    login_as(client, DEALER)
    response = client.get("/")
    assert response.status_code == 302 and "/dealer/hospitals" in response.headers["Location"]
    page = client.get("/dealer/hospitals").get_data(as_text=True)
    assert "さくら台総合病院" in page and "みなと中央病院" in page
    assert "3 全機能利用" in page and "1 ダウンロードサイト閲覧" in page
    assert choose(client, "H0002").status_code == 302
    assert "/dealer/hospitals" not in client.get("/").headers.get("Location", "")


def test_dealer_with_one_hospital_gets_it_automatically(client, ctx):
    set_level("H0002", 9, "終了", actor_email=HOSPITAL_B)
    user = user_by_email(DEALER)
    scope = scope_of(user)
    assert scope.organization_ids == {org("H0001").id} and scope.dealer_level == 3
    login_as(client, DEALER)
    response = client.get("/")
    assert response.status_code == 200 or "/dealer/hospitals" not in response.headers["Location"]


def test_dealer_with_no_hospital_is_told_so(client, ctx):
    set_level("H0001", 9, "終了")
    set_level("H0002", 9, "終了", actor_email=HOSPITAL_B)
    login_as(client, DEALER)
    response = client.get("/", follow_redirects=True)
    assert "権限を付与した医療機関がありません" in response.get_data(as_text=True)
    assert scope_of(user_by_email(DEALER)).organization_ids == {user_by_email(DEALER).organization_id}


def test_cannot_choose_a_hospital_without_permission(client, ctx):
    login_as(client, DEALER)
    assert choose(client, "H0003").status_code == 404
    set_level("H0002", 9, "終了", actor_email=HOSPITAL_B)
    assert choose(client, "H0002").status_code == 404


def test_switcher_in_navbar(client, ctx):
    login_as(client, DEALER)
    choose(client, "H0001")
    page = client.get("/dealer/hospitals").get_data(as_text=True)
    assert 'id="dealer-switcher"' in page
    assert "さくら台総合病院（3 全機能利用）" in page
    login_as(client, HOSPITAL_A)
    assert 'id="dealer-switcher"' not in client.get("/dealer-permissions/").get_data(as_text=True)
