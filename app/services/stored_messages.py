"""Messages kept on a row and read later: an upload's status and result, a report's failure.

They are written by a job or a service, with no reader in sight, and read on the upload screen,
its status JSON, the reports screen and the REST API, by people who chose Japanese or English.
So a row keeps what was said, not the words: ``message_parts`` holds
``[{"code": "ingest.imported", "params": {"label": {"t": "医療機器台帳"}, "count": 12}}, …]``,
and the text is made when it is read, in the reader's language (:func:`render`).

``message`` keeps the Japanese text too (the msgids are the Japanese wording): rows written
before the parts existed have only that, and it stays what SQL, the audit and the tests read.
:func:`display` shows the parts when there are any, else that text as it is.

A param is a string or an int (a count, shown with thousands separators; ``year``/``month`` are
not counts), ``{"t": msgid, "p": {...}}`` (itself translated), or a list of params joined by
``、`` — ``{"items": [...], "sep": "・"}`` names another separator.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import force_locale, get_translations
from flask_babel import gettext as _gettext


def N_(msgid: str) -> str:
    """Marks a msgid for the catalog without translating it (one of Babel's default keywords)."""
    return msgid


MESSAGES: dict[str, str] = {
    # accepting files (app/services/uploads)
    "upload.queued": N_("処理待ちです。"),
    "upload.duplicate": N_("同じ内容のファイルが %(when)s に受け付け済みです（受付番号 %(id)s）。"
                           "再処理は行いません。"),
    "upload.mapping_saved": N_("列の対応付けを保存しました。再処理を待っています。"),
    "upload.demo": N_("デモデータ"),
    "upload.discarded": N_("%(when)s に取り消されました。このファイルのデータは取り込まれていません。"),
    # the ingest job and the worker (app/jobs)
    "upload.processing": N_("処理中です。"),
    "upload.retrying": N_("一時的なエラーのため、処理を再試行します。"),
    "upload.failed_temporarily": N_("システムの一時的なエラーのため処理できませんでした。"
                                    "時間をおいて再度アップロードしてください。"),
    "upload.notified": N_("関係者にメール通知を送信しました。"),
    "upload.recovered": N_("前回の処理が中断されたため、再処理します。"),
    "upload.abandoned": N_("処理中に作業プロセスが停止しました（%(count)s 回）。ファイルの内容を確認し、"
                           "再度アップロードしてください。"),
    "upload.worker_died": N_("処理中に作業プロセスが異常終了しました。ファイルが大きすぎるか壊れている"
                             "可能性があります。ファイルを確認して再度アップロードしてください。"),
    # the ingest's outcome (app/services/ingest/pipeline.py)
    "ingest.imported": N_("%(label)sを取り込みました（%(count)s 件）。"),
    "ingest.rows_rejected": N_("取り込めなかった行が %(count)s 件あります。"
                               "理由は「取り込めなかった行」のファイルをご確認ください。"),
    "ingest.ledger_dropped": N_("前の台帳にあって今回の台帳にない %(count)s 台は、%(year)s年%(month)s月"
                                "からの集計に含まれません（それより前の月の集計は変わりません）。"),
    "ingest.lending_removed": N_("%(year)s年%(month)s月に始まる貸出のうち、"
                                 "今回のファイルにない %(count)s 件を削除しました。"),
    "ingest.failure_removed": N_("%(year)s年%(month)s月に始まる故障のうち、"
                                 "今回のファイルにない %(count)s 件を削除しました。"),
    "ingest.not_stored": N_("アップロードされたファイルが保存されていません。もう一度アップロードしてください。"),
    "ingest.unexpected": N_("取り込み中に予期しないエラーが発生しました。データは変更されていません。"
                            "管理者にお問い合わせください。"),
    "ingest.unknown_type": N_("不明なファイル種別です（%(type)s）。"),
    "ingest.no_data": N_("ファイルにデータがありません（空のファイルです）。"),
    "ingest.columns_missing": N_("必須の列（%(labels)s）が見つかりません。見出しの対応付けを指定してください。"
                                 "ファイルの見出し: %(found)s"),
    "ingest.duplicate_headers": N_("同じ見出しの列が複数あります: %(columns)s。どの列を使うか決められないため、"
                                   "取り込みを止めました。使わない列を削除するか見出しを別の名前に変えてから、"
                                   "もう一度アップロードしてください。"),
    "ingest.header_only": N_("見出し行だけで、データ行がありません。"),
    "ingest.no_valid_rows": N_("有効な行がありません（%(count)s 行すべてに問題があります）。"
                               "取り込めなかった行のファイルで理由をご確認ください。"),
    # reading the file (app/services/ingest/reading.py)
    "read.empty": N_("ファイルが空です。"),
    "read.not_a_table": N_("Excel（xlsx / xls）や CSV ではないファイルです。ファイルを確認してください。"),
    "read.password": N_("パスワードで保護（暗号化）された Excel ファイルのため読み取れません。"
                        "Excel でパスワードを解除して保存し直すか、CSV で出力してからアップロードしてください。"),
    "read.not_excel": N_("拡張子は %(ext)s ですが、内容が Excel ファイルではありません。"
                         "Excel で開いて保存し直すか、CSV で出力してください。"),
    "read.csv_is_excel": N_("拡張子は csv ですが、内容が Excel ファイルです。拡張子を xlsx / xls にしてください。"),
    "read.broken_zip": N_("ファイルが壊れているため読み取れません（xlsx として開けません）。"),
    "read.too_many_entries": N_("Excel ファイルの構造が異常です（内部ファイルが多すぎます）。"),
    "read.not_workbook": N_("Excel ブック（xlsx）ではない zip ファイルです。"),
    "read.too_large_unpacked": N_("展開後のサイズが大きすぎます（約 %(mb)s MB）。"
                                  "圧縮爆弾の疑いがあるため取り込みを中止しました。"),
    "read.ratio": N_("圧縮率が異常に高いファイルが含まれています（圧縮爆弾の疑い）。取り込みを中止しました。"),
    "read.broken_entry": N_("ファイルが壊れているため読み取れません（xlsx の内容を展開できません）。"),
    "read.sheet_rows": N_("シートの行数が多すぎます（%(rows)s 行。上限 %(limit)s 行）。"),
    "read.sheet_columns": N_("シートの列数が多すぎます（%(columns)s 列。上限 %(limit)s 列）。"),
    "read.shared_strings": N_("ファイルが壊れています（共有文字列の件数の宣言が内容と一致しません）。"
                              "Excel で開いて保存し直してください。"),
    "read.timeout": N_("ファイルの読み取りが制限時間（%(seconds)s 秒）内に終わりませんでした。"
                       "ファイルが壊れているか大きすぎます。"),
    "read.sheet_rows_limit": N_("シートの行数が多すぎます（上限 %(limit)s 行）。"),
    "read.parser_crashed": N_("ファイルの読み取り中に解析処理が異常終了しました。ファイルが壊れているか、"
                              "内容に比べて極端に大きな領域を要求しています。Excel で開いて保存し直してください。"),
    "read.unreadable": N_("ファイルが壊れているため読み取れません。"
                          "Excel で開いて保存し直すか、CSV で出力してください。"),
    "read.bad_utf8_bom": N_("ファイルは UTF-8（BOM 付き）と宣言されていますが、%(line)s 行目に UTF-8 として読めない"
                            "文字があります。Shift_JIS（CP932）の内容に UTF-8 の印が付いている可能性があります。"
                            "UTF-8 で保存し直してください。"),
    "read.utf16": N_("UTF-16 のテキストとして読めません。UTF-8 の CSV で保存し直してください。"),
    "read.not_text": N_("テキスト（CSV）ファイルではありません。Excel や CSV で出力したファイルを選んでください。"),
    "read.encoding": N_("文字コードを判別できません（%(line)s 行目）。"
                        "UTF-8 または Shift_JIS（CP932）の CSV で保存し直してください。"),
    "read.open_quote": N_("%(record)s 行目（ファイルの %(first)s 行目から）の値が %(lines)s 行にわたっています。"
                          "引用符（\"）が閉じられていないため、以降の行が1つの値として読まれています。"
                          "データが失われないよう取り込みを中止しました。引用符を確認して保存し直してください。"),
    "read.rows": N_("行数が多すぎます（上限 %(limit)s 行）。"),
    "read.columns": N_("列数が多すぎます（%(columns)s 列。上限 %(limit)s 列）。"),
    # why a row went to the rejected-rows file (app/services/ingest/validate.py, pipeline.py)
    "reject.device_number_empty": N_("機器番号が空です。"),
    "reject.device_number_long": N_("機器番号が長すぎます（%(max)s 文字まで）。"),
    "reject.device_number_duplicate": N_("機器番号 %(number)s が %(first)s 行目と重複しています。"),
    "reject.device_unknown": N_("機器番号 %(number)s は機器台帳にありません。先に台帳を取り込んでください。"),
    "reject.date": N_("%(reason)s（例: 2023/04/01、R5.4.1）"),
    "reject.date_range": N_("日付が範囲外です: %(day)s"),
    "reject.datetime": N_("%(reason)s（例: 2023/04/01 10:30）"),
    "reject.datetime_range": N_("日時が範囲外です（対象月 %(month)s に対して）: %(moment)s"),
    "reject.datetime_empty": N_("日時が空です。"),
    "reject.returned_before_lent": N_("返却日時が貸出日時より前です。"),
    "reject.repaired_before_failed": N_("修理完了日が故障日より前です。"),
    "reject.lending_duplicate": N_("同じ機器・同じ貸出日時の行が %(first)s 行目にあります。"),
    "reject.failure_duplicate": N_("同じ機器・同じ故障日の行が %(first)s 行目にあります。"),
    "reject.width": N_("列の数（%(columns)s 列）が見出しの列数（%(width)s 列）と違います。"
                       "区切り文字（,）や引用符（\"）を確認してください。"),
    "reject.width_lines": N_("列の数（%(columns)s 列）が見出しの列数（%(width)s 列）と違います。"
                             "ファイルの %(first)s〜%(last)s 行目が1行として読まれています。"
                             "引用符（\"）が閉じられていない可能性があります。"),
    "reject.too_long": N_("値が長すぎます（%(length)s 文字。1つのセルは %(limit)s 文字まで）。"),
    "reject.excel_error": N_("Excel のエラー値「%(value)s」です。元のファイルの数式を確認してください。"),
    # reports (app/services/reports, app/jobs)
    "report.failed": N_("レポートの作成に失敗しました。管理者にお問い合わせください。"),
    "report.abandoned": N_("レポートの作成中に作業プロセスが停止しました（%(count)s 回）。"
                           "管理者にお問い合わせください。"),
}
# Params that are numbers but not counts: no thousands separator.
NOT_COUNTS = frozenset({"year", "month", "id", "record", "first", "line", "type"})
LIST_SEPARATOR = N_("、")


def part(code: str, **params: Any) -> dict:
    """One stored sentence: its code and params (JSON values)."""
    if code not in MESSAGES:
        raise KeyError(f"unknown message code {code!r}")
    return {"code": code, "params": params} if params else {"code": code}


def translated(msgid: str, **params: Any) -> dict:
    """A param translated when shown (a file type's name, a field's label)."""
    return {"t": msgid, "p": params} if params else {"t": msgid}


def joined(items: Iterable, sep: str = LIST_SEPARATOR) -> dict:
    return {"items": list(items), "sep": sep}


def set_message(row, *parts: dict) -> None:
    """Store ``parts`` on an UploadFile or ReportFile (none: no message)."""
    row.message_parts = list(parts) or None
    row.message = japanese(row.message_parts) if parts else None


def append_message(row, extra: dict) -> None:
    """Add a sentence to the row's message (a row with only old text keeps that text first)."""
    if row.message_parts:
        set_message(row, *row.message_parts, extra)
    else:
        row.message_parts = None
        row.message = f"{row.message or ''} {japanese([extra])}".strip()


def japanese(parts: list[dict] | None) -> str:
    """The text in Japanese: the msgids themselves, no catalog or application needed."""
    return _render(parts or [], _identity, "ja")


def render(parts: list[dict] | None, locale=None) -> str:
    """The text of ``parts`` in ``locale`` (a Babel locale or its name; None: Japanese). Pure
    apart from the catalogs: a view passes its reader's, and a job, a mail or a test can ask for
    any language."""
    if not parts:
        return ""
    language = str(locale).split("_")[0] if locale else "ja"
    if language == "ja":
        return japanese(parts)
    with force_locale(str(locale)):
        return _render(parts, _gettext, language)


def in_gettext_language(part: dict) -> str:
    """One part in the language flask_babel's ``gettext`` speaks now, as the ``_()`` around it:
    a refusal read at once by the person who caused it (the view set the language up; nothing
    here asks the request which it is)."""
    return _text(MESSAGES[part["code"]], part.get("params") or {}, _gettext)


class Wording:
    """Many parts and params in one language, e.g. the thousands of reasons of a rejected-rows
    file: the catalog is found once and each msgid translated once, where :func:`render` sets
    the locale up again for every call. Japanese needs no catalog (nor an application)."""

    def __init__(self, locale):
        """``locale``: the reader's (a view passes its reader's; None is Japanese)."""
        self.language = str(locale).split("_")[0] if locale else "ja"
        if self.language == "ja":
            self._translate = _identity
            return
        with force_locale(str(locale)):
            translations = get_translations()
        known: dict[str, str] = {}

        def translate(msgid: str, **params) -> str:
            text = known.get(msgid)
            if text is None:
                text = known[msgid] = translations.ugettext(msgid)
            return text % params if params else text

        self._translate = translate

    def text(self, msgid: str, **params) -> str:
        """One msgid (params as in a part)."""
        return _text(msgid, params, self._translate)

    def part(self, stored: dict) -> str:
        return _text(MESSAGES[stored["code"]], stored.get("params") or {}, self._translate)

    def value(self, param, key: str = "") -> str:
        """One param (a text kept as data, a ``translated`` msgid, a ``joined`` list)."""
        return _value(key, param, self._translate)


def display(parts: list[dict] | None, text: str | None, locale=None) -> str:
    """What a reader sees for a row: its parts in their language while they still say what its
    Japanese text says; else that text as stored. Text only: a row stored before the parts
    existed. Text that differs: written without :func:`set_message` (by hand in the database,
    an older writer), or a wording changed since — the stored words are then the truth."""
    if _current(parts, text):
        return render(parts, locale)
    return text or ""


def codes(parts: list[dict] | None, text: str | None) -> list[str]:
    """The stable codes of what :func:`display` shows, for API clients (none for a row shown
    as its stored text)."""
    return [p["code"] for p in parts] if _current(parts, text) else []


def _current(parts: list[dict] | None, text: str | None) -> bool:
    """Whether the parts still say the row's text (and name codes this version knows)."""
    if not parts:
        return False
    try:
        return japanese(parts) == (text or "")
    except (KeyError, TypeError, ValueError):
        return False


def _identity(msgid: str, **params) -> str:
    return msgid % params if params else msgid


def _render(parts: list[dict], translate, language: str) -> str:
    sentences = [_text(MESSAGES[p["code"]], p.get("params") or {}, translate) for p in parts]
    return ("" if language == "ja" else " ").join(sentences)


def _text(msgid: str, params: dict, translate) -> str:
    values = {key: _value(key, value, translate) for key, value in params.items()}
    return translate(msgid, **values)


def _value(key: str, value, translate) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value) if key in NOT_COUNTS else f"{value:,}"
    if isinstance(value, list):
        value = {"items": value}
    if isinstance(value, dict) and "items" in value:
        separator = translate(value.get("sep") or LIST_SEPARATOR)
        return separator.join(_value(key, item, translate) for item in value["items"])
    if isinstance(value, dict) and "t" in value:
        return _text(value["t"], value.get("p") or {}, translate)
    return str(value)
