"""The import graph is the one docs/architecture.md draws.

- ``app.core`` (months, text normalization, field rules, encryption) imports nothing of the app;
- ``app.models`` imports only ``app.core`` and ``app.extensions``;
- ``app.infra`` (storage, queue, mail, i18n) imports neither services, access nor the web layer;
- ``app.services`` never imports the web layer, jobs, the CLI or seeding, and never touches the
  request (``flask.request``, ``g``, ``session``, ``flash``), nor asks it its language
  (``flask_babel.get_locale``, ``flask.has_request_context``): the actor, scope, settings and the
  reader's language are arguments;
- the access rules (capabilities, roles, scope) import only models and core;
- no import circle among module-level imports.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

# layer → what it may import from the app (prefixes); None: anything not forbidden below
MAY_IMPORT = {
    "app.core": ("app.core",),
    "app.models": ("app.models", "app.core", "app.extensions"),
    "app.infra": ("app.infra", "app.core", "app.extensions"),
    # the request-free part of app.access: who may do what, over which organizations
    "app.access.capabilities": ("app.access", "app.models", "app.core", "app.extensions"),
    "app.access.roles": ("app.access", "app.models", "app.core", "app.extensions"),
    "app.access.scope": ("app.access", "app.models", "app.core", "app.extensions"),
    "app.access.aggregate": ("app.access", "app.models", "app.core", "app.extensions"),
}
MAY_NOT_IMPORT = {
    "app.services": ("app.views", "app.jobs", "app.cli", "app.seeding", "app.sync_client"),
    "app.access": ("app.views", "app.jobs", "app.cli", "app.seeding", "app.sync_client"),
    "app.jobs": ("app.views", "app.cli", "app.seeding", "app.sync_client"),
    "app.seeding": ("app.views", "app.jobs"),
}
# The one deliberate exception: FAB's security manager is configured with the screens it
# serves (login, user info), so it names those view classes.
ALLOWED_EXCEPTIONS = {("app.access.security_manager", "app.views")}
REQUEST_NAMES = {"request", "g", "session", "flash"}
# What asks whether there is a request, or its language: a service is told the language
# (a Wording or "ja"/"en") by its caller instead.
REQUEST_PROBES = {"flask": {"has_request_context"}, "flask_babel": {"get_locale"}}
REQUEST_FREE = ("app.services",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(module: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").exists()


def is_module(module: str) -> bool:
    return is_package(module) or (ROOT / (module.replace(".", "/") + ".py")).exists()


def imports(module: str, tree: ast.AST, top_level_only: bool = False):
    """``(target module, line)`` for each import of an ``app`` module in ``tree``."""
    nodes = tree.body if top_level_only else ast.walk(tree)
    package = module if is_package(module) else module.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "app" or alias.name.startswith("app."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if not (base == "app" or base.startswith("app.")):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if is_module(full) else base), node.lineno


def request_uses(tree: ast.AST):
    """Lines where ``tree`` reaches the request: ``from flask import request/g/session/flash``
    or ``flask.request`` and the like, or asks about it: ``has_request_context``,
    ``flask_babel.get_locale`` (a function-level import counts too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("flask", "flask_babel"):
            for alias in node.names:
                if alias.name in REQUEST_PROBES[node.module] or (node.module == "flask"
                                                                 and alias.name in REQUEST_NAMES):
                    yield node.lineno, f"from {node.module} import {alias.name}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in REQUEST_PROBES and (node.attr in REQUEST_PROBES[node.value.id] or (
                    node.value.id == "flask" and node.attr in REQUEST_NAMES)):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def layer_rule(module: str):
    allowed = max((k for k in MAY_IMPORT if module == k or module.startswith(k + ".")), key=len, default=None)
    forbidden = max((k for k in MAY_NOT_IMPORT if module == k or module.startswith(k + ".")), key=len,
                    default=None)
    return (MAY_IMPORT[allowed] if allowed else None), (MAY_NOT_IMPORT[forbidden] if forbidden else ())


def under(target: str, prefixes) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def violations(module: str, source: str) -> list[str]:
    """Every breach of the layer rules in one module's source."""
    tree = ast.parse(source)
    allowed, forbidden = layer_rule(module)
    found = []
    for target, line in imports(module, tree):
        if allowed is not None and target != "app" and not under(target, allowed):
            found.append(f"{module}:{line} imports {target}")
        if under(target, forbidden) and not any(module == m and under(target, (p,)) for m, p in ALLOWED_EXCEPTIONS):
            found.append(f"{module}:{line} imports {target}")
    if module.startswith(REQUEST_FREE):
        found += [f"{module}:{line} uses {what}" for line, what in request_uses(tree)]
    return found


def app_sources():
    for path in sorted(APP.rglob("*.py")):
        yield module_name(path), path.read_text(encoding="utf-8")


def test_every_module_keeps_to_its_layer():
    found = [v for module, source in app_sources() for v in violations(module, source)]
    assert not found, "\n".join(found)


def test_no_import_circle_among_module_level_imports():
    graph = {}
    for module, source in app_sources():
        graph[module] = {t for t, _ in imports(module, ast.parse(source), top_level_only=True)
                         if t != module}
    cycles = strongly_connected(graph)
    assert not cycles, f"import circles: {cycles}"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one module."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in graph:
                continue
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


# The checker itself must catch what it is there for.
def test_checker_flags_a_service_that_reads_the_request_or_imports_a_view():
    source = "from flask import current_app, request\nfrom app.views import ledger\nfrom app.models import User\n"
    found = violations("app.services.ledger.maintenance", source)
    assert found == ["app.services.ledger.maintenance:2 imports app.views.ledger",
                     "app.services.ledger.maintenance:1 uses from flask import request"]


def test_checker_flags_a_service_that_asks_the_request_its_language():
    source = ("def english():\n"
              "    from flask import has_request_context\n"
              "    from flask_babel import get_locale, gettext\n"
              "    import flask_babel\n"
              "    return has_request_context() and flask_babel.get_locale().language == 'en'\n")
    assert violations("app.services.reports.definitions", source) == [
        "app.services.reports.definitions:2 uses from flask import has_request_context",
        "app.services.reports.definitions:3 uses from flask_babel import get_locale",
        "app.services.reports.definitions:5 uses flask_babel.get_locale"]
    # the web layer may: it is where the reader's language is found
    assert violations("app.views.display", "from flask_babel import get_locale\n") == []


def test_checker_flags_models_and_infra_reaching_up():
    assert violations("app.models.user", "from app.services.accounts import totp\n") == [
        "app.models.user:1 imports app.services.accounts.totp"]
    assert violations("app.infra.mail", "from app.access.scope import Scope\n") == [
        "app.infra.mail:1 imports app.access.scope"]
    assert violations("app.core.months", "import app.models\n") == ["app.core.months:1 imports app.models"]


def test_checker_finds_a_circle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
