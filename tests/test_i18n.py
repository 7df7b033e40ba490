"""Japanese by default, English on request; every Japanese message of the app has an
English translation in app/translations/en."""
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
METHOD_MAP = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
# N_ marks a msgid stored now and translated when shown (app/services/stored_messages.py);
# like the others it is one of Babel's default keywords, so pybabel extract finds it too.
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2), "N_": None}


def app_messages() -> set[str]:
    messages = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text and JAPANESE.search(text):
                messages.add(text)
    return messages


def test_every_japanese_message_has_an_english_translation():
    with open(ROOT / "app/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = sorted(m for m in app_messages() if not (catalog.get(m) and catalog.get(m).string))
    assert missing == [], f"{len(missing)} messages lack an English translation, e.g. {missing[:5]}"


def test_the_english_catalog_has_each_message_once():
    """Two entries for one msgid (left by merging two branches' additions) are refused by
    msgfmt and make the catalog's answer depend on which one a tool keeps."""
    text = (ROOT / "app/translations/en/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    msgids = re.findall(r'^msgid "(.+)"$', text, flags=re.M)
    assert sorted({m for m in msgids if msgids.count(m) > 1}) == []


def test_login_page_is_japanese_by_default_and_english_on_request(client):
    page = client.get("/login/").get_data(as_text=True)
    assert "パスワード" in page
    client.get("/lang/en")
    page = client.get("/login/").get_data(as_text=True)
    assert "Password" in page and "パスワード" not in page


def test_processes_starting_together_compile_the_catalogs_without_clashing(tmp_path, monkeypatch):
    """On a fresh clone no .mo exists: gunicorn's or the test run's workers start at once and
    all compile it. Both writers here finish writing before either moves its file into place."""
    import shutil
    import threading

    from babel.messages.mofile import read_mo

    from app.infra import i18n

    shutil.copytree(i18n.TRANSLATIONS_DIR, tmp_path / "translations",
                    ignore=shutil.ignore_patterns("*.mo", "*.tmp"))
    both_written = threading.Barrier(2, timeout=10)
    real_write_mo = i18n.write_mo

    def write_then_wait(handle, catalog, **kwargs):
        real_write_mo(handle, catalog, **kwargs)
        handle.flush()
        both_written.wait()

    monkeypatch.setattr(i18n, "write_mo", write_then_wait)
    errors: list[BaseException] = []

    def compile_once():
        try:
            i18n.compile_catalogs(tmp_path / "translations")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=compile_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open(tmp_path / "translations/en/LC_MESSAGES/messages.mo", "rb") as handle:
        assert read_mo(handle).get("機器台帳のメンテナンス") is not None
    assert list((tmp_path / "translations").rglob("*.tmp")) == []


def test_pages_name_their_language(client):
    """Without <html lang> a browser set to another language draws kanji with Chinese glyphs
    and a screen reader reads Japanese as English."""
    assert '<html lang="ja">' in client.get("/login/").get_data(as_text=True)
    client.get("/lang/en")
    assert '<html lang="en">' in client.get("/login/").get_data(as_text=True)


def test_the_menu_names_the_profile_page_as_its_title_does(client):
    """FAB's ja_JP catalog calls the menu item プロファイル; the page it opens says プロフィール."""
    from .conftest import HOSPITAL_A, login_as

    login_as(client, HOSPITAL_A)
    page = client.get("/users/userinfo/").get_data(as_text=True)
    menu_item = re.search(r'<a href="/users/userinfo/">(.*?)</a>', page, re.S).group(1)
    assert "プロフィール" in menu_item and "プロファイル" not in page
    client.get("/lang/en")
    page = client.get("/users/userinfo/").get_data(as_text=True)
    assert "Profile" in re.search(r'<a href="/users/userinfo/">(.*?)</a>', page, re.S).group(1)


def test_a_page_opened_before_logging_in_asks_to_log_in(client):
    """FAB flashes "Access is Denied" when it sends a visitor who is not logged in (a bookmark,
    an expired session) to the login page; it read このページを表示する権限がありません, as if the
    account lacked a permission."""
    page = client.get("/dashboard/", follow_redirects=True).get_data(as_text=True)
    assert "/login/" in page and "このページを表示するには、ログインしてください。" in page
    assert "権限がありません" not in page
    client.get("/lang/en")
    page = client.get("/dashboard/", follow_redirects=True).get_data(as_text=True)
    assert "Please log in to see this page." in page and "Access is Denied" not in page
