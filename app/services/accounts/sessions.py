"""Ending a user's sessions, the domain side: every session stores the user's
``session_generation`` at login and is refused once it differs (the cookie side, which reads
the request's session, is :mod:`app.access.sessions`)."""
from __future__ import annotations


def end_all_sessions(user) -> None:
    """End every session of ``user`` (each device, each copied cookie); the caller commits."""
    user.session_generation = (user.session_generation or 0) + 1
