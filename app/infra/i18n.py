"""The app's own message catalogs (Japanese msgids, English translations).

Catalogs are compiled from the committed ``.po`` files when the application starts and a
``.mo`` is missing or older than its ``.po``, so every way of starting OptiServe (run.py,
``flask``, gunicorn, tests) shows translated text without a separate build step. Several
processes may start at once (gunicorn's workers, the test workers): each writes its own
temporary file and moves it into place, so they never trip over one another.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"
log = logging.getLogger(__name__)


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    compiled = []
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with open(po_path, "rb") as handle:
            catalog = read_po(handle)
        with tempfile.NamedTemporaryFile(dir=mo_path.parent, prefix="messages.", suffix=".mo.tmp",
                                         delete=False) as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        os.replace(handle.name, mo_path)
        compiled.append(mo_path)
        log.info("compiled %s", mo_path)
    return compiled
