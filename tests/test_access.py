"""app/access holds capabilities, role checks and the scope, with no import circle."""
from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
# What app.access may import from the application: the models and the plumbing under them.
ACCESS_MAY_IMPORT = {"app.models", "app.models.dealer", "app.extensions", "app.months"}
# Modules allowed to spell role names: role checks, the declared role permissions, the user
# model's role_names accessor; seeds (any module or package named seed*) create demo users.
ROLE_NAME_MODULES = {"access/roles.py", "roles.py", "models/user.py"}
_ROLE = r"""["'](?:Admin|Operator|OrgAdmin|HospitalUser|DealerUser|ManufacturerUser|System)["']"""
# "Admin" in roles / == "Admin" / != "Admin": a comparison (naming a role to grant it is fine).
ROLE_COMPARISON = re.compile(rf"{_ROLE}\s+(?:not\s+)?in\b|[!=]=\s*{_ROLE}")


def absolute(module: str, node: ast.ImportFrom) -> str:
    package = module.rsplit(".", node.level)[0] if node.level else ""
    return ".".join(part for part in (package, node.module or "") if part)


def test_access_imports_no_domain_module_or_view():
    for path in sorted((APP / "access").glob("*.py")):
        module = "app.access." + path.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = absolute(module, node)
                if target.startswith("app.") and not target.startswith("app.access"):
                    assert target in ACCESS_MAY_IMPORT, f"{path.name} imports {target}"


def test_role_names_are_compared_only_in_app_access():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP).as_posix()
        if relative in ROLE_NAME_MODULES or relative.split("/")[0].startswith("seed"):
            continue
        text = path.read_text(encoding="utf-8")
        if ROLE_COMPARISON.search(text) or "role.name for role in" in text:
            offenders.append(relative)
    assert not offenders, f"role names compared outside app/access/roles.py: {offenders}"
