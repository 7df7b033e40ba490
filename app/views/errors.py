"""Bad ids, bad queries and error answers, in one place.

- Ids in URLs: an ``<int:…>`` argument is at most 2,147,483,647 (PostgreSQL's ``integer``; a
  bigger number could only fail the query), and FAB's string ``<pk>`` (show, edit, delete,
  REST API) must be such a number too; anything else is a 404 before a view runs. (A
  converter with a maximum would not do: werkzeug then answers 405 where two rules share
  a path with different methods.)
- ``?q=`` of the REST API must be readable rison (FAB catches only some of its parser's
  errors: ``((((((`` recursed into a 500); otherwise 400.
- Error pages (400, 403, 404, 405, 413, 429, 500; a stale form's CSRF token its own 400) are
  in the user's language, inside the app's layout, with a link back to the start page; under
  ``/api/`` the answer is JSON ``{"message": …}`` in the user's language, worded for a program's
  caller (:data:`API_MESSAGES`: no "page"), the same whether FAB's API or the app refused
  (app/views/api_base.py).
"""
from __future__ import annotations

import logging
import re

from flask import current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, NotFound

log = logging.getLogger(__name__)

MAX_ID = 2**31 - 1
MAX_QUERY_CHARS = 4096
_ID_RE = re.compile(r"\d{1,10}")
ID_ARGUMENTS = ("pk",)

PAGES = {
    400: (_l("リクエストが正しくありません"),
          _l("送信された内容を読み取れませんでした。入力内容を確認して、もう一度お試しください。")),
    403: (_l("アクセスできません"),
          _l("このページを表示する権限がありません。必要な場合は組織の管理者にお問い合わせください。")),
    404: (_l("ページが見つかりません"),
          _l("お探しのページ（またはデータ）は存在しないか、表示できません。URL を確認してください。")),
    405: (_l("この操作はできません"),
          _l("このページでは、その方法の操作は受け付けていません。")),
    413: (_l("ファイルが大きすぎます"),
          _l("送信されたデータが大きすぎます。ファイルのサイズを確認してください。")),
    429: (_l("アクセスが集中しています"),
          _l("短い時間に多くの操作が行われました。しばらく待ってから、もう一度お試しください。")),
    500: (_l("システムエラーが発生しました"),
          _l("処理中に予期しないエラーが発生しました。時間をおいてもう一度お試しいただき、解決しない場合は管理者にお問い合わせください。")),
}


# The JSON APIs' own words for their refusals (a caller of /api/ reads no page): FAB's
# response_400/401/403/404 (app/views/api_base.py) and the error handler below both answer these.
API_MESSAGES = {
    400: _l("リクエストの内容が正しくありません。パラメータと送信内容を確認してください。"),
    401: _l("APIキーが無効です（不明・失効・期限切れのキー、または無効になった利用者）。"
            "有効なキーを Authorization: Bearer ヘッダーで送ってください。"),
    403: _l("この操作を行う権限がありません。必要な場合は組織の管理者にお問い合わせください。"),
    404: _l("指定されたもの（URL または ID）は存在しないか、参照する権限がありません。"),
}


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.fullmatch(value)) and int(value) <= MAX_ID


def check_request() -> None:
    """A before-request hook: ids in the path and the REST API's rison ``q``."""
    for name, value in (request.view_args or {}).items():
        if type(value) is int and not 0 <= value <= MAX_ID:
            raise NotFound()
        if name in ID_ARGUMENTS and isinstance(value, str) and not is_valid_id(value):
            raise NotFound()
    if request.path.startswith("/api/") and "q" in request.args:
        _check_rison(request.args["q"])


class BadQuery(BadRequest):
    description = "q"


def _check_rison(value: str) -> None:
    import prison

    if len(value) > MAX_QUERY_CHARS:
        raise BadQuery()
    try:
        prison.loads(value)
    except prison.decoder.ParserException:
        return  # FAB answers these itself (400, or its JSON fallback)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        raise BadQuery() from None


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page(code: int, title, message, action=None):
    appbuilder = current_app.appbuilder
    home = appbuilder.get_url_for_index
    try:
        return render_template("errors/error.html", code=code, title=title, message=message, home=home,
                               action=action, appbuilder=appbuilder, base_template=appbuilder.base_template)
    except Exception:  # the layout itself failed (database down): the page still answers
        log.exception("error page %s rendered without the layout", code)
        return render_template("errors/plain.html", code=code, title=title, message=message, home=home)


# A form sent with a missing or stale CSRF token (the page was open across a new login, a
# logout in another tab or a restart): a generic "could not read" would leave the user guessing.
CSRF_PAGE = (_l("画面の有効期限が切れました"),
             _l("この画面を開いた後にログインし直したなどの理由で、送信を受け付けられませんでした。"
                "ブラウザの「戻る」で前の画面に戻り、入力内容を控えてから、ページを再読み込みしてもう一度送信してください。"))
# The same when the session has ended meanwhile (idle logout, logout in another tab): "you
# logged in again" was wrong, and reloading leads to the login page without saying why.
CSRF_LOGGED_OUT_PAGE = (_l("画面の有効期限が切れました"),
                        _l("ログインが終了していたため（一定時間操作がなかった、または別の画面でログアウトした）、"
                           "送信を受け付けられませんでした。ブラウザの「戻る」で前の画面に戻って入力内容を控え、"
                           "もう一度ログインしてから送信し直してください。"))


def _csrf_page():
    """The stale-form page's title, text and button (label, link): to the login page, coming
    back to the form's page afterwards, when no one is logged in any more."""
    from flask_login import current_user

    auth_view = current_app.appbuilder.sm.auth_view
    signing_in = auth_view is not None and (request.endpoint or "").startswith(auth_view.endpoint + ".")
    if current_user.is_authenticated or signing_in:  # a login step was never a login that ended
        return (*CSRF_PAGE, None)
    back_to = request.referrer or ""
    if back_to.startswith(request.host_url):
        back_to = "/" + back_to[len(request.host_url):]
    else:
        back_to = None
    return (*CSRF_LOGGED_OUT_PAGE, (_l("ログイン"), current_app.appbuilder.get_url_for_login_with(back_to)))


def handle_error(error):
    code = error.code if isinstance(error, HTTPException) and error.code in PAGES else 500
    if code == 500:
        from app.extensions import db

        db.session.rollback()  # the failed request's transaction must not break the page
        original = getattr(error, "original_exception", None)
        if original is not None:
            log.error("unhandled error on %s", request.path, exc_info=original)
    title, message, action = _csrf_page() if isinstance(error, CSRFError) else (*PAGES[code], None)
    if _wants_json():
        if code in API_MESSAGES and not isinstance(error, CSRFError):
            message = API_MESSAGES[code]
        response = jsonify(message=str(message))
    else:
        response = current_app.make_response(_page(code, title, message, action))
    response.status_code = code
    if isinstance(error, HTTPException):
        for name, value in error.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
    return response


def init_app(app) -> None:
    app.before_request(check_request)
    for code in PAGES:
        app.register_error_handler(code, handle_error)
    app.register_error_handler(InternalServerError, handle_error)


__all__ = ["API_MESSAGES", "MAX_ID", "check_request", "handle_error", "init_app", "is_valid_id"]
