"""The audit screen's 内容 names each changed field in the reader's language (電話番号, not
``phone``), while the stored JSON, which the chain hashes, keeps its keys."""
import ast
from pathlib import Path

from app.extensions import db
from app.models import AuditEvent, Organization
from app.services.audit import trail as audit
from app.views.audit_fields import CHANGE_LABELS
from app.views.organizations import AUDITED_FIELDS

from .conftest import ADMIN, login_as

APP = Path(__file__).resolve().parent.parent / "app"
CHANGES = {"phone": ["03-1234", "03-9999"], "acting_for": "H0001", "path": "/users/list/",
           "zz_unknown_key": "kept"}


def _event_page(client) -> tuple[int, str]:
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    audit.record("organization.update", hospital, organization_id=hospital.id, changes=CHANGES)
    db.session.commit()
    event_id = db.session.query(AuditEvent.id).filter_by(action="organization.update").order_by(
        AuditEvent.id.desc()).first()[0]
    login_as(client, ADMIN)
    return event_id, client.get(f"/audit/show/{event_id}").get_data(as_text=True)


def test_the_changes_show_japanese_labels_and_keep_the_stored_keys(client, ctx):
    event_id, page = _event_page(client)
    assert "電話番号: 03-1234 → 03-9999" in page
    assert "代理先の医療機関: H0001" in page and "URL: /users/list/" in page
    for raw in ("phone:", "acting_for:", "path:"):
        assert raw not in page
    assert "zz_unknown_key: kept" in page  # a key without a label is shown, not hidden
    db.session.expire_all()
    assert db.session.get(AuditEvent, event_id).changes == CHANGES
    assert audit.verify_chain().broken_id is None


def test_the_changes_show_english_labels_in_english(client, ctx):
    _event_id, _page = _event_page(client)
    client.get("/lang/en")
    page = client.get(f"/audit/show/{_event_id}").get_data(as_text=True)
    assert "Phone number: 03-1234 → 03-9999" in page
    assert "Acting for hospital: H0001" in page and "URL: /users/list/" in page
    assert "電話番号" not in page and "acting_for:" not in page
    assert "zz_unknown_key: kept" in page


def test_role_names_show_their_labels_and_two_refused_roles_are_not_a_change(client, ctx):
    hospital = db.session.query(Organization).filter_by(code="H0001").one()
    audit.record("user.update", organization_id=hospital.id, changes={"roles": [["HospitalUser"], ["OrgAdmin"]]})
    audit.record("user.role_grant_refused", organization_id=hospital.id, changes={"roles": ["Admin", "Operator"]})
    db.session.commit()
    login_as(client, ADMIN)
    update, refused = (db.session.query(AuditEvent.id).filter_by(action=a).one()[0]
                       for a in ("user.update", "user.role_grant_refused"))
    assert "ロール: 病院ユーザー → 組織管理者" in client.get(f"/audit/show/{update}").get_data(as_text=True)
    assert "ロール: システム管理者、運用担当" in client.get(f"/audit/show/{refused}").get_data(as_text=True)


def _literal_keys(node) -> set[str]:
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    if isinstance(node, ast.Tuple):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def recorded_keys() -> dict[str, str]:
    """Every key app/ writes into an event's changes literally: ``changes={...}`` and, in the
    same function, the dict named by ``changes=name`` (``name = {...}``, ``name["k"] = ...``)."""
    keys = {}
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Module))):
            names = set()
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                for keyword in call.keywords:
                    if keyword.arg == "changes":
                        keys.update(dict.fromkeys(_literal_keys(keyword.value), str(path)))
                        if isinstance(keyword.value, ast.Name):
                            names.add(keyword.value.id)
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name) and target.id in names:
                        keys.update(dict.fromkeys(_literal_keys(node.value), str(path)))
                    if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                            and target.value.id in names and isinstance(target.slice, ast.Constant)):
                        keys[target.slice.value] = str(path)
    return keys


def test_every_key_the_app_records_has_a_label():
    keys = recorded_keys()
    assert {"status", "first_name", "acting_for", "path", "ip", "ended_links", "roles", "level"} <= set(keys)
    # fields recorded by name from a model: an organization's edit and a dealer's rows (trail)
    keys.update(dict.fromkeys([*AUDITED_FIELDS, "dealer_organization", "api_key_id", "first_name",
                               "email", "phone", "mobile", "organization_id", "status",
                               "smds_classification_id", "mapping_method"], "model fields"))
    missing = sorted(f"{key} ({where})" for key, where in keys.items() if key not in CHANGE_LABELS)
    assert missing == [], f"add these keys to app/views/audit_fields.py CHANGE_LABELS: {missing}"
