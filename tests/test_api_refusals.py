"""Every REST API refuses in the caller's language with the app's words, not FAB's bare English
("Forbidden", "Not found", "Not authorized", "Arguments are not correct"): Japanese by default,
English with ``?_l_=en``; the shape stays ``{"message": …}`` and the status is unchanged. A row of
another hospital answers the same 404 whether FAB's API or the app's scope refused it."""
from __future__ import annotations

from app.extensions import db
from app.models import Equipment

from .conftest import HOSPITAL_A, HOSPITAL_B, MANUFACTURER, ORGADMIN_A, login_as, user_by_email
from .ingest_helpers import LEDGER_HEADER, csv_bytes, hospital_id, ledger_rows, make_upload

NOT_FOUND = ("指定されたもの（URL または ID）は存在しないか、参照する権限がありません。",
             "What you asked for (the URL or the ID) does not exist, or you are not allowed to see it.")
FORBIDDEN = ("この操作を行う権限がありません。必要な場合は組織の管理者にお問い合わせください。",
             "You are not allowed to do this. Ask your organization's administrator if you need it.")
UNAUTHORIZED = ("APIキーが無効です（不明・失効・期限切れのキー、または無効になった利用者）。"
                "有効なキーを Authorization: Bearer ヘッダーで送ってください。",
                "The API key is not valid (unknown, revoked or expired, or its user was deactivated). "
                "Send a valid key in the Authorization: Bearer header.")
BAD_REQUEST = ("リクエストの内容が正しくありません。パラメータと送信内容を確認してください。",
               "The request is not valid. Check its parameters and what was sent.")


def answers(client, url: str, status: int) -> tuple[str, str]:
    """The message of ``url`` in Japanese (default), then in English (``?_l_=en``)."""
    japanese = client.get(url)
    english = client.get(url + ("&" if "?" in url else "?") + "_l_=en")
    assert (japanese.status_code, english.status_code) == (status, status)
    assert set(japanese.get_json()) == set(english.get_json()) == {"message"}
    return japanese.get_json()["message"], english.get_json()["message"]


def other_hospitals_device() -> int:
    device = Equipment(hospital_id=hospital_id("H0002"), device_number="B-REFUSE-1", product_name="輸液ポンプ")
    db.session.add(device)
    db.session.commit()
    return device.id


def test_another_hospitals_upload_is_404_in_the_readers_language(client, ctx):
    b_upload = make_upload(csv_bytes([LEDGER_HEADER] + ledger_rows(2)), 1, code="H0002")
    login_as(client, HOSPITAL_A)
    assert answers(client, f"/api/v1/uploads/{b_upload}", 404) == NOT_FOUND
    # the app's own scope refusal (another hospital named by id) says the same
    assert answers(client, f"/api/v1/uploads/?hospital_id={hospital_id('H0002')}", 404) == NOT_FOUND


def test_another_hospitals_device_is_404_in_the_readers_language(client, ctx):
    device = other_hospitals_device()
    login_as(client, HOSPITAL_A)
    assert answers(client, f"/api/v1/ledger/{device}", 404) == NOT_FOUND


def test_another_hospitals_user_is_404_in_the_readers_language(client, ctx):
    """The users API is the hospital's OrgAdmin's."""
    other = user_by_email(HOSPITAL_B).id
    login_as(client, ORGADMIN_A)
    assert answers(client, f"/api/v1/users/{other}", 404) == NOT_FOUND


def test_an_api_the_role_may_not_use_is_403_in_the_readers_language(client, ctx):
    login_as(client, MANUFACTURER)
    assert answers(client, "/api/v1/reports/figures?month=2026-08", 403) == FORBIDDEN
    assert answers(client, "/api/v1/uploads/", 403) == FORBIDDEN


def test_an_unknown_api_key_is_401_in_the_readers_language(client, ctx):
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer sst_" + "x" * 43
    assert answers(client, "/api/v1/uploads/", 401) == UNAUTHORIZED


def test_an_unreadable_query_is_400_in_the_readers_language(client, ctx):
    login_as(client, ORGADMIN_A)
    assert answers(client, "/api/v1/users/?q=" + "(" * 5000, 400) == BAD_REQUEST


def test_every_api_of_the_app_has_the_shared_refusals(app):
    """A new API on FAB's bare BaseApi would answer "Forbidden" / "Not found" again."""
    from flask_appbuilder.api import BaseApi

    from app.views.api_base import TranslatedRefusals

    apis = [v for v in app.appbuilder.baseviews if isinstance(v, BaseApi) and type(v).__module__.startswith("app.")]
    assert len(apis) >= 13
    assert [type(v).__name__ for v in apis if not isinstance(v, TranslatedRefusals)] == []
