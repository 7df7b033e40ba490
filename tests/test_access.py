"""Role names are compared only in app/access (its imports: tests/test_architecture.py)."""
from __future__ import annotations

import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
# Modules allowed to spell role names: role checks, the declared role permissions, the user
# model's role_names accessor; seeds (any module or package named seed*) create demo users.
ROLE_NAME_MODULES = {"access/roles.py", "access/role_sync.py", "models/user.py"}
_ROLE = r"""["'](?:Admin|Operator|OrgAdmin|HospitalUser|DealerUser|ManufacturerUser|System)["']"""
# "Admin" in roles / == "Admin" / != "Admin": a comparison (naming a role to grant it is fine).
ROLE_COMPARISON = re.compile(rf"{_ROLE}\s+(?:not\s+)?in\b|[!=]=\s*{_ROLE}")


def test_role_names_are_compared_only_in_app_access():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP).as_posix()
        if relative in ROLE_NAME_MODULES or relative.split("/")[0] == "seeding":
            continue
        text = path.read_text(encoding="utf-8")
        if ROLE_COMPARISON.search(text) or "role.name for role in" in text:
            offenders.append(relative)
    assert not offenders, f"role names compared outside app/access/roles.py: {offenders}"
