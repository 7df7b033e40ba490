"""Moved to :mod:`app.access.scope` (capability names: :mod:`app.access.capabilities`).

A thin re-export so parallel branches that still import ``app.scope`` keep working; it goes
away in the layout issue (#12). New code imports from ``app.access``.
"""
from __future__ import annotations

from .access.capabilities import (  # noqa: F401  (re-export)
    DOWNLOAD_REPORTS,
    EDIT_OWN_ORGANIZATION,
    HOSPITAL_CAPABILITIES,
    MAINTAIN_MASTERS,
    MANAGE_DEALERS,
    MANAGE_ORGANIZATIONS,
    MANAGE_USERS,
    SELECT_HOSPITALS,
    UPLOAD,
)
from .access.roles import OPERATOR_ROLES  # noqa: F401  (re-export)
from .access.scope import (  # noqa: F401  (re-export)
    NOTHING,
    Scope,
    current_scope,
    forget_scope,
    scope_of,
)
