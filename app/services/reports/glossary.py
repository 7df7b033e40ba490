"""Each figure's definition as docs/figures.md says it, in Japanese or English, for the
dashboard's hover texts: the ① / ② tables (per figure key; a definition cell is
``日本語 / English``) and the first paragraph of ③–⑥ (Japanese lines, then English ones).
The document is the one source; it is read once per process and language."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "figures.md"
SECTION_KEYS = {"①": "lending", "②": "failure", "③": "life", "④": "models_near_end", "⑤": "top_models",
                "⑥": "ranking"}


def _japanese(line: str) -> bool:
    return bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", line)) and not re.match(r"^[A-Za-z*(\"]", line)


@lru_cache(maxsize=2)
def definitions(language: str = "ja") -> dict:
    """``{"lending": {"devices": "…", …}, "failure": {…}, "life": "…", …}`` in Japanese, or
    in English for ``language`` "en"."""
    from app.services.reports.definitions import FAILURE_FIGURES, LENDING_FIGURES

    found: dict = {}
    try:
        text = DOC.read_text(encoding="utf-8")
    except OSError:
        return found
    english = language == "en"
    section = None
    japanese: list[str] = []
    paragraph: list[str] = []
    for line in text.splitlines():
        if line.startswith("## "):
            section = SECTION_KEYS.get(line[3:4])
            japanese, paragraph = [], []
            continue
        if section in ("lending", "failure") and line.startswith("| ") and not line.startswith("| 項目"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) >= 3 and not set(cells[0]) <= {"-", " "}:
                both = cells[2].split(" / ", 1)
                found.setdefault(section, {})[cells[0]] = both[-1 if english else 0].strip()
        elif section in ("life", "models_near_end", "top_models", "ranking") and section not in found:
            text_line = line.strip()
            if text_line and _japanese(text_line) and not paragraph:
                japanese.append(text_line)
            elif text_line and japanese and english:
                paragraph.append(text_line)
            elif japanese and (paragraph or not english):
                found[section] = (" ".join(paragraph) if english else "".join(japanese)).replace("**", "")
    by_key: dict = {}
    for kind, registry in (("lending", LENDING_FIGURES), ("failure", FAILURE_FIGURES)):
        table = found.get(kind, {})
        by_key[kind] = {f.key: table.get(f.ja, "") for f in registry}
    for kind in ("life", "models_near_end", "top_models", "ranking"):
        by_key[kind] = found.get(kind, "")
    return by_key
