"""Where a screen may send the browser back to: a ``next=`` or ``back`` URL the request itself
carries is only followed when it stays on this site (an open redirect would let a mail's link
to our login page forward the user to a look-alike site)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask_appbuilder.utils.base import is_safe_redirect_url


def safe_next(url: str | None) -> str | None:
    """``url`` when it is a URL of this site, else None.

    FAB's check lets a backslash through, which a browser reads as a slash
    (/\\evil.example is //evil.example: another site); no page of ours has one in its path.
    """
    if not url or "\\" in url or any(ord(ch) < 32 for ch in url):
        return None
    return url if is_safe_redirect_url(url) else None


def safe_local_path(url: str | None, under: str) -> str | None:
    """``url`` when it is a relative URL of this site (no scheme, no host) whose path starts
    with ``under``, else None: a form's "back to this list" carries only the list's path and
    query, never another page or site."""
    url = safe_next(url)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or not parts.path.startswith(under):
        return None
    return url
