"""Tenant-isolation matrix over EVERY rule of the app's URL map.

For each role × {own hospital's objects, another hospital's objects}, every endpoint is
called with every method it accepts. An argument naming an object (``<pk>``,
``<int:hospital_id>``…) gets that side's object of the model the endpoint works on; endpoints
without arguments (lists, forms, saves) get the other hospital's ids in the query string and
form. Whatever the answer, for a role not entitled to hospital B:

- B's marker texts never appear in a response (lists do not contain B's rows);
- B's rows in the database are unchanged (no edit, delete, action or save reached them);
- a request naming a B object by id answers 302 (FAB's access refusal), 401, 403, 404 or 405 —
  never 200 with data;
- nothing answers 5xx.

A new endpoint is covered automatically: FAB model views are resolved through their
datamodel; a custom view with an object argument must be classified in ``ARG_MODELS``
(the test says so), and an endpoint that is public by design must be listed in ``PUBLIC``
with its reason. A new model with a hospital/organization column must get a factory in
``FACTORIES`` (``test_every_owned_model_has_a_factory``).
"""
from __future__ import annotations

import datetime as dt
import io
import re
import uuid
import zipfile

import pytest
from flask import current_app
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import select

from app.access import api_keys
from app.access.capabilities import SCREEN_CAPABILITIES, level_capabilities
from app.access.role_sync import ROLE_PERMISSIONS
from app.access.scope import scope_of
from app.extensions import db
from app.models import (
    AuditEvent,
    Classification,
    ColumnProfile,
    DealerPermission,
    DealerPermissionHistory,
    Download,
    Equipment,
    EquipmentChange,
    Failure,
    FiguresChange,
    IdempotencyRecord,
    Invitation,
    LedgerListing,
    Lending,
    Maker,
    ManufacturerSelection,
    Organization,
    RecoveryCode,
    ReportFile,
    ReportNotice,
    ReportSelection,
    ReportVersion,
    StoredFigures,
    UploadFile,
    User,
)

from .conftest import ADMIN, DEALER, HOSPITAL_A, MANUFACTURER, OPERATOR, ORGADMIN_A, login_as

# Endpoints that answer everyone by design (no hospital data behind them).
PUBLIC = {
    "static": "the application's static files (JS/CSS)",
    "appbuilder.static": "Flask-AppBuilder's static files",
    "HealthView.health": "load-balancer liveness probe, no data",
    "HealthView.ready": "readiness probe, no data",
    "LocaleView.index": "language switch, stores the locale in the session",
    "UtilView.back": "FAB's redirect to the previous page",
    "IndexView.index": "the welcome page, no data",
    "MenuApi.get_menu_data": "the menu of the caller's own permissions",
}
# Endpoint-name prefixes of the login flow (login, TOTP, first login, password reset, logout):
# reachable before authentication; tested in tests/test_auth*.py.
PUBLIC_PREFIXES = ("OptiServeAuthView.",)
# Endpoints not requested by the sweep, with the reason and where they are tested instead.
NOT_REQUESTED = {
    "DealerHospitalView.choose": "changes the session's hospital (would switch the dealer to B, "
                                 "which it may legitimately hold); tests/test_dealers.py",
}

# Models that are masters shared by every organization (no hospital owns them). Endpoints on
# them are still swept; only "own vs other" has no meaning, so the same object serves both.
GLOBAL_MODELS = {
    "Role": "declared roles",
    "Maker": "the maker master (its organization_id links a manufacturer, not an owner)",
    "SmdsClassification": "the common SMDS classification master",
}

# Custom (non-model) views: which model an object argument names. Key: endpoint, or view
# class name for all its endpoints. Value: a key of FACTORIES or GLOBAL_MODELS.
ARG_MODELS = {
    "ClassificationMappingView": "Classification",
    "ClassificationApi": "Classification",
    "SmdsMasterView": "SmdsClassification",
    "MakerView": "Maker",
    "DealerPermissionView": "DealerPermission",
    "LedgerView": "Equipment",
    "LedgerApi": "Equipment",
    "UploadView": "UploadFile",
    "UploadApi": "UploadFile",
    "SystemUploadApi": "UploadFile",
    "ApiKeyView": "ApiKey",
    "ApiKeyApi": "ApiKey",
    "ReportDownloadView": "ReportFile",
    "ReportApi": "ReportFile",
}

# Fixed values of arguments that do not name an object (each is tried as given).
PLAIN_ARGS = {
    "filename": ["matrix.txt"],
    "version": ["v1"],
    "month": ["2026-08"],
    "scope_key": ["all"],
    "kind": ["lending", "failure"],
}

# Arguments that name the hospital itself.
HOSPITAL_ARGS = {"hospital_id", "organization_id"}

MONTH = dt.date(2026, 8, 1)


def marker(side: str, name: str) -> str:
    return f"ISOMARK{side}{name}{uuid.uuid4().hex[:6]}"


# ---------------------------------------------------------------- object factories


def _user(h, m):
    email = f"{m.lower()}@{h.code.lower()}.example.jp"
    return User(first_name=m, last_name="", username=email, email=email, active=True, status=1,
                organization_id=h.id, phone="03-0000-0000")


def _classification(h, m):
    return Classification(hospital_id=h.id, level=1, name=m, normalized_name=m)


def _equipment(h, m):
    # The marker sits in raw-ledger fields (device number, serial), never in the pooled keys
    # (classification, maker, model) a manufacturer legitimately sees.
    return Equipment(hospital_id=h.id, device_number=m, serial_number=m, product_name=m,
                     model_number=f"MODEL-{h.code}")


def _upload(h, m):
    return UploadFile(hospital_id=h.id, month=MONTH, file_type=1, original_name=f"{m}.csv",
                      sha256=uuid.uuid4().hex * 2, message=m)


def _report(h, m):
    return ReportFile(hospital_id=h.id, month=MONTH, file_type=1, file_name=f"{m}.xlsx", message=m)


FACTORIES = {
    "Organization": lambda h, m, o: h,
    "User": lambda h, m, o: _user(h, m),
    "AuditEvent": lambda h, m, o: AuditEvent(organization_id=h.id, action="matrix.test", object_id=m,
                                             changes={"note": m}),
    "Classification": lambda h, m, o: _classification(h, m),
    "ReportSelection": lambda h, m, o: ReportSelection(hospital_id=h.id, rank=1,
                                                       classification_id=o["Classification"].id),
    "Equipment": lambda h, m, o: _equipment(h, m),
    "EquipmentChange": lambda h, m, o: EquipmentChange(
        equipment_id=o["Equipment"].id, hospital_id=h.id, field="override_counts",
        old_value=None, new_value=m, reason=m),
    "LedgerListing": lambda h, m, o: LedgerListing(hospital_id=h.id, month=MONTH, equipment_id=o["Equipment"].id),
    "Lending": lambda h, m, o: Lending(hospital_id=h.id, equipment_id=o["Equipment"].id, month=MONTH,
                                       lent_at=dt.datetime(2026, 8, 2), department=m),
    "Failure": lambda h, m, o: Failure(hospital_id=h.id, equipment_id=o["Equipment"].id, month=MONTH,
                                       failed_at=dt.datetime(2026, 8, 3), description=m),
    "UploadFile": lambda h, m, o: _upload(h, m),
    "ColumnProfile": lambda h, m, o: ColumnProfile(hospital_id=h.id, file_type=2, mapping={"x": m}),
    "ReportFile": lambda h, m, o: _report(h, m),
    # Version 2 (a revision): screen 4 shows what it changed, here the marker.
    "ReportVersion": lambda h, m, o: ReportVersion(hospital_id=h.id, month=MONTH, version=2,
                                                   snapshot={"scopes": [], "note": m},
                                                   changes=[{"kind": "list", "list": m}],
                                                   published_at=dt.datetime(2026, 9, 1)),
    # Stored dashboard figures (issue 14): under another presentation key, so never served;
    # the dashboard's URLs are swept with B's hospital_id like every other view.
    "StoredFigures": lambda h, m, o: StoredFigures(hospital_id=h.id, month=MONTH, version_key=f"matrix-{m}"[:40],
                                                   data={"note": m}, computed_from=dt.datetime(2026, 9, 1),
                                                   computed_at=dt.datetime(2026, 9, 1)),
    "FiguresChange": lambda h, m, o: FiguresChange(hospital_id=h.id, changed_at=dt.datetime(2026, 9, 1)),
    "Download": lambda h, m, o: Download(report_file_id=o["ReportFile"].id, hospital_id=h.id,
                                         user_id=o["User"].id),
    "DealerPermission": lambda h, m, o: _dealer_permission(h, m),
    "DealerPermissionHistory": lambda h, m, o: DealerPermissionHistory(
        permission_id=o["DealerPermission"].id, hospital_id=h.id,
        dealer_user_id=o["DealerPermission"].dealer_user_id, new_level=1, reason=m),
    "ManufacturerSelection": lambda h, m, o: _selection(h),
    "Invitation": lambda h, m, o: Invitation(user_id=o["User"].id, token_hash=uuid.uuid4().hex,
                                             expires_at=dt.datetime(2030, 1, 1)),
    "RecoveryCode": lambda h, m, o: RecoveryCode(user_id=o["User"].id, code_hash=uuid.uuid4().hex),
    "ApiKey": lambda h, m, o: ApiKey(name=m, key_hash=uuid.uuid4().hex, lookup_hash=uuid.uuid4().hex,
                                     key_prefix="sst_matrix", user_id=o["User"].id, active=True),
    "IdempotencyRecord": lambda h, m, o: IdempotencyRecord(
        user_id=o["User"].id, key=m, request_hash="0" * 64, status=200, response={"note": m},
        created_on=dt.datetime(2026, 8, 1), expires_on=dt.datetime(2030, 1, 1)),
    "ReportNotice": lambda h, m, o: ReportNotice(hospital_id=h.id, month=MONTH, file_type=1,
                                                 sent_at=dt.datetime(2026, 8, 1)),
}
# Models owned through their user (user_id), not a hospital column.
USER_OWNED = {"Invitation", "RecoveryCode", "ApiKey"}
# Tables that carry an owner column but are not per-hospital data, with the reason.
NOT_OWNED = {
    "maker": "Maker.organization_id links a manufacturer to its maker entry (a master)",
    "ab_api_key": "API keys belong to a user (user_id, swept through USER_OWNED); FAB's own key "
                  "screens are not registered (app.views.api_keys replaces them)",
    "sync_change": "the on-prem changes feed's log: read only through /api/v1/system/changes, "
                   "operator-wide (System/Admin); a hospital key gets 403 (tests/test_sync_feed.py)",
}


def _dealer_permission(h, m):
    """A second dealer user of D0001, so the seeded dealer's own permissions stay as they are."""
    dealer_org = db.session.scalars(select(Organization).where(Organization.code == "D0001")).one()
    email = f"{m.lower()}@towa-medical.example.jp"
    user = User(first_name=m, last_name="", username=email, email=email, active=True, status=1,
                organization_id=dealer_org.id, roles=[current_app.appbuilder.sm.find_role("DealerUser")])
    db.session.add(user)
    db.session.flush()
    return DealerPermission(hospital_id=h.id, dealer_user_id=user.id, level=1, reason=m)


def _selection(h):
    maker_org = db.session.scalars(select(Organization).where(Organization.code == "M0001")).one()
    existing = db.session.scalars(select(ManufacturerSelection).where(
        ManufacturerSelection.manufacturer_id == maker_org.id,
        ManufacturerSelection.hospital_id == h.id)).first()
    return existing or ManufacturerSelection(manufacturer_id=maker_org.id, rank=9, hospital_id=h.id)


def build_objects(hospital: Organization, side: str) -> tuple[dict, list[str]]:
    objects, markers = {}, []
    for name, factory in FACTORIES.items():
        m = marker(side, name)
        obj = factory(hospital, m, objects)
        if obj is not hospital:
            db.session.add(obj)
        db.session.flush()
        objects[name] = obj
        if name not in ("Organization", "ManufacturerSelection", "Download", "Invitation",
                        "RecoveryCode", "ColumnProfile"):
            markers.append(m)
    if side == "B":
        hospital.address_line2 = m = marker(side, "Organization")
        markers.append(m)
    common = Classification(hospital_id=None, level=1, name=f"SMDS-{side}", normalized_name=f"smds-{side}")
    db.session.add(common)
    db.session.flush()
    objects["SmdsClassification"] = common
    db.session.commit()
    return objects, markers


# ---------------------------------------------------------------- snapshots


# The column naming a table's owner where it is not the first of hospital_id / organization_id:
# a manufacturer's selection is the manufacturer's row (it may name hospital B).
OWNER_COLUMN = {"manufacturer_selection": "manufacturer_id"}


def owned_tables() -> list:
    return [t for t in Model.metadata.sorted_tables
            if t.name not in NOT_OWNED
            and {"hospital_id", "organization_id", "manufacturer_id"} & set(t.columns.keys())]


def snapshot(hospital_id: int, user_ids: list[int]) -> dict:
    state = {}
    for table in owned_tables():
        column = OWNER_COLUMN.get(table.name) or next(
            (c for c in ("hospital_id", "organization_id") if c in table.columns), None)
        if column is None:
            continue
        query = select(table).where(table.c[column] == hospital_id)
        if table.name == "audit_event":
            # a dealer refused while acting for the hospital is in the hospital's log: the one
            # row a refusal adds to its tables (app/views/request_audit.py)
            query = query.where(table.c.action != "access.refused")
        rows = db.session.execute(query).all()
        state[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    for table in Model.metadata.sorted_tables:
        if "user_id" in table.columns and table.name not in state:
            rows = db.session.execute(select(table).where(table.c.user_id.in_(user_ids))).all()
            state[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    org = db.session.execute(select(Organization.__table__).where(Organization.id == hospital_id)).one()
    state["organization"] = [tuple(str(v) for v in org)]
    return state


# ---------------------------------------------------------------- URL map classification


def view_of(endpoint: str):
    name = endpoint.split(".", 1)[0]
    for view in current_app.appbuilder.baseviews:
        if type(view).__name__ == name or getattr(view, "endpoint", None) == name:
            return view
    return None


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC or endpoint.startswith(PUBLIC_PREFIXES)


def arg_model(endpoint: str, view) -> str | None:
    if endpoint in ARG_MODELS:
        return ARG_MODELS[endpoint]
    name = endpoint.split(".", 1)[0]
    if name in ARG_MODELS:
        return ARG_MODELS[name]
    datamodel = getattr(view, "datamodel", None)
    if datamodel is not None:
        model = datamodel.obj.__name__
        return "User" if model in ("OptiServeUser",) else model
    return None


def resolve_args(rule, view, objects) -> list[dict] | str:
    """Argument sets for one side, or a message asking the developer to classify the endpoint."""
    values: dict[str, list] = {}
    for arg in sorted(rule.arguments):
        if arg == "pk":
            model = arg_model(rule.endpoint, view)
            if model is None or (model not in objects and model not in GLOBAL_MODELS):
                return (f"{rule.endpoint} ({rule.rule}) takes an object id but its model is unknown: "
                        f"add it to ARG_MODELS (or PUBLIC / NOT_REQUESTED) in tests/test_isolation_matrix.py")
            if model in objects:
                values[arg] = [objects[model].id]
            elif model == "Maker":
                values[arg] = [db.session.scalars(select(Maker.id)).first() or 1]
            else:
                values[arg] = [1]
        elif arg in HOSPITAL_ARGS:
            values[arg] = [objects["Organization"].id]
        elif arg == "name":
            actions = sorted(getattr(view, "actions", {}) or {}) or ["delete"]
            values[arg] = actions
        elif arg in PLAIN_ARGS:
            values[arg] = PLAIN_ARGS[arg]
        else:
            return (f"{rule.endpoint} ({rule.rule}) has an argument <{arg}> the isolation matrix "
                    f"does not know: classify it in tests/test_isolation_matrix.py")
    combos = [{}]
    for arg, options in values.items():
        combos = [dict(c, **{arg: o}) for c in combos for o in options]
    return combos


def readable(body: bytes) -> bytes:
    """A response's body as the markers are searched in: a workbook download (an xlsx is a
    zip, its cells compressed) with its parts unpacked."""
    if not body.startswith(b"PK\x03\x04"):
        return body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return body + b"".join(archive.read(name) for name in archive.namelist())


def all_rules():
    return sorted(current_app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def test_every_endpoint_is_classified(app):
    """Fails with the list of endpoints the matrix cannot call, so none is forgotten."""
    with app.app_context():
        problems = []
        objects = {name: type("Obj", (), {"id": 1})() for name in FACTORIES}
        objects["SmdsClassification"] = objects["Classification"]
        for rule in all_rules():
            if is_public(rule.endpoint) or rule.endpoint in NOT_REQUESTED:
                continue
            view = view_of(rule.endpoint)
            if view is None and rule.endpoint not in PUBLIC:
                problems.append(f"{rule.endpoint} ({rule.rule}) is not a registered FAB view: "
                                f"register it through appbuilder or list it in PUBLIC with a reason")
                continue
            result = resolve_args(rule, view, objects)
            if isinstance(result, str):
                problems.append(result)
        assert not problems, "\n".join(problems)


def test_every_owned_model_has_a_factory(app):
    names = set()
    for mapper in Model.registry.mappers:
        table = mapper.local_table
        if table.name in NOT_OWNED or table.name.startswith("ab_") and table.name != "ab_user":
            continue
        owner_columns = {"hospital_id", "organization_id", "manufacturer_id", "user_id"}
        if owner_columns & set(table.columns.keys()):
            names.add("User" if table.name == "ab_user" else mapper.class_.__name__)
    missing = sorted(names - set(FACTORIES) - USER_OWNED)
    assert not missing, (f"models with a hospital/organization/user column and no object factory in "
                         f"tests/test_isolation_matrix.py FACTORIES: {missing}")


# ---------------------------------------------------------------- the sweep

ROLES = {
    "anonymous": None,
    "orgadmin_a": ORGADMIN_A,
    "hospital_a": HOSPITAL_A,
    "dealer_acting_for_a": DEALER,  # holds A (level 3) and B (level 1); A chosen
    "manufacturer": MANUFACTURER,  # selected A, B and C: pooled figures only
    "admin": ADMIN,  # sees everything: only "no 5xx" is checked
    # API-key clients: the key's user, with no session (screens answer as to anyone anonymous)
    "hospital_a_key": ("key", HOSPITAL_A),
    "orgadmin_a_key": ("key", ORGADMIN_A),
    "system_key": ("key", "system@smds.example"),  # every hospital by design: only "no 5xx"
}
ENTITLED_TO_B = {"admin", "system_key"}
REFUSED = {302, 401, 403, 404, 405}


def _form(objects, hospital_id):
    pk = objects["Equipment"].id
    return {
        "hospital": hospital_id, "hospital_id": hospital_id, "organization": hospital_id,
        "rowid": [objects["User"].id, pk], "action": "delete", "pk": pk, "id": pk,
        "email": DEALER, "level": "9", "reason": "MATRIX", "name": "MATRIX", "first_name": "MATRIX",
        "classification_id": objects["Classification"].id, "target_id": objects["Classification"].id,
        "smds_classification_id": objects["Classification"].id, "month": "2026-08",
        "hospital_ids": hospital_id,
    }


def _request(client, method, url, data, hospital_id):
    if url.startswith("/api/"):
        return client.open(url, method=method, json={**data, "rowid": None},
                           query_string={"hospital_id": hospital_id})
    if method == "GET":
        return client.get(url, query_string={"hospital_id": hospital_id, "hospital": hospital_id})
    return client.open(url, method=method, data=data,
                       query_string={"hospital_id": hospital_id, "hospital": hospital_id})


@pytest.mark.parametrize("side", ["own", "other"])
@pytest.mark.parametrize("role", list(ROLES))
def test_isolation_matrix(app, client, role, side, monkeypatch):
    with app.app_context():
        hospital_a = db.session.scalars(select(Organization).where(Organization.code == "H0001")).one()
        hospital_b = db.session.scalars(select(Organization).where(Organization.code == "H0002")).one()
        objects_b, markers_b = build_objects(hospital_b, "B")
        objects_a, _ = build_objects(hospital_a, "A") if side == "own" else (None, None)
        objects = objects_a if side == "own" else objects_b
        target_hospital_id = objects["Organization"].id
        b_id = hospital_b.id
        b_users = [u.id for u in db.session.scalars(select(User).where(User.organization_id == b_id))]
        before = snapshot(b_id, b_users)
        if isinstance(ROLES[role], tuple):
            owner = db.session.scalars(select(User).where(User.email == ROLES[role][1])).one()
            admin = db.session.scalars(select(User).where(User.email == ADMIN)).one()
            _, raw_key = api_keys.create_key(scope_of(admin), admin, owner, "matrix", None,
                                             current_app.appbuilder.sm)
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
            # the sweep makes more calls than a key's rate limit allows (tested in test_api_keys)
            monkeypatch.setitem(app.config, "API_KEY_RATE_LIMIT", "")
        elif ROLES[role] is not None:
            login_as(client, ROLES[role])
        if role.startswith("dealer"):
            assert client.post("/dealer/choose", data={"hospital": hospital_a.id}).status_code == 302
        failures = []
        checked = 0
        for rule in all_rules():
            if is_public(rule.endpoint) or rule.endpoint in NOT_REQUESTED:
                continue
            view = view_of(rule.endpoint)
            combos = resolve_args(rule, view, objects)
            assert not isinstance(combos, str), combos
            for args in combos:
                url = _build(rule, args)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    try:
                        response = _request(client, method, url, _form(objects, target_hospital_id),
                                            target_hospital_id)
                    except Exception as error:  # TESTING propagates what would be a 500
                        failures.append(f"{role}/{side} {method} {url} ({rule.endpoint}): "
                                        f"server error {type(error).__name__}: {error}")
                        db.session.rollback()
                        continue
                    checked += 1
                    where = f"{role}/{side} {method} {url} ({rule.endpoint}) → {response.status_code}"
                    if response.status_code >= 500:
                        failures.append(f"{where}: server error")
                    if role in ENTITLED_TO_B:
                        continue
                    body = readable(response.get_data())
                    leaked = [m for m in markers_b if m.encode() in body]
                    if leaked:
                        failures.append(f"{where}: shows hospital B's data {leaked}")
                    if side == "other" and args and any(a in ("pk",) or a in HOSPITAL_ARGS for a in args) \
                            and response.status_code not in REFUSED and not _global(rule, view):
                        failures.append(f"{where}: an id of hospital B must answer 403/404")
                    db.session.expire_all()
                    if snapshot(b_id, b_users) != before:
                        failures.append(f"{where}: changed hospital B's rows")
                        before = snapshot(b_id, b_users)
        assert checked > 50
        assert not failures, "\n".join(failures)


def _global(rule, view) -> bool:
    return "pk" in rule.arguments and arg_model(rule.endpoint, view) in GLOBAL_MODELS


def _build(rule, args) -> str:
    adapter = current_app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, args, method=next(iter(rule.methods - {"HEAD", "OPTIONS"})))


# ---------------------------------------------------------------- unusable API keys × every API

KEY_STATES = {
    "revoked": 401,  # revoked on the screen or with POST /api/v1/apikeys/<id>/revoke
    "expired": 401,  # past expires_on
    "outside_allowlist": 403,  # the organization has an IP allow-list and the caller is outside it
}


def _unusable_key(owner_email: str, state: str) -> str:
    owner = db.session.scalars(select(User).where(User.email == owner_email)).one()
    admin = db.session.scalars(select(User).where(User.email == ADMIN)).one()
    key, raw_key = api_keys.create_key(scope_of(admin), admin, owner, f"matrix {state}", None,
                                       current_app.appbuilder.sm)
    if state == "revoked":
        api_keys.revoke_key(scope_of(admin), admin, key)
    elif state == "expired":
        key.expires_on = dt.datetime(2020, 1, 1)
    else:
        owner.organization.ip_allowlist = "192.0.2.0/24"  # the test client calls from 127.0.0.1
    db.session.commit()
    return raw_key


@pytest.mark.parametrize("owner", [HOSPITAL_A, "system@smds.example"])
@pytest.mark.parametrize("state", list(KEY_STATES))
def test_unusable_key_is_refused_by_every_api(app, client, state, owner, monkeypatch):
    """Every API route, every method, hospital B's ids: a revoked or expired key answers 401,
    a key used from outside its organization's IP allow-list 403 — and nothing of B shows or
    changes. (A valid key of hospital A against B: the sweep above, roles ``*_key``.)"""
    monkeypatch.setitem(app.config, "API_KEY_RATE_LIMIT", "")
    with app.app_context():
        hospital_b = db.session.scalars(select(Organization).where(Organization.code == "H0002")).one()
        objects, markers_b = build_objects(hospital_b, "B")
        b_users = [u.id for u in db.session.scalars(select(User).where(User.organization_id == hospital_b.id))]
        before = snapshot(hospital_b.id, b_users)
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {_unusable_key(owner, state)}"
        expected, failures, checked = KEY_STATES[state], [], 0
        for rule in all_rules():
            if not rule.rule.startswith("/api/") or rule.endpoint == "UserApi.not_an_id":
                continue
            for args in resolve_args(rule, view_of(rule.endpoint), objects):
                url = _build(rule, args)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = _request(client, method, url, _form(objects, hospital_b.id), hospital_b.id)
                    checked += 1
                    body = response.get_data()
                    if response.status_code != expected or set(response.get_json(silent=True) or {}) != {"message"}:
                        failures.append(f"{state} {method} {url} → {response.status_code} {body[:120]!r}")
                    if any(m.encode() in body for m in markers_b):
                        failures.append(f"{state} {method} {url}: shows hospital B's data")
        db.session.expire_all()
        assert snapshot(hospital_b.id, b_users) == before
        assert checked > 30
        assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- dealer levels × endpoints

DEALER_LEVELS = [1, 2, 3, 9]
# Views a dealer reaches with any level (no hospital capability behind them), with the reason.
DEALER_FREE_VIEWS = {
    "DealerHospitals": "choosing which granting hospital to act for",
}


def set_dealer_level(level: int) -> Organization:
    """The seeded dealer holds hospital A at ``level`` and nothing else (A is then chosen)."""
    hospital_a = db.session.scalars(select(Organization).where(Organization.code == "H0001")).one()
    dealer = db.session.scalars(select(User).where(User.email == DEALER)).one()
    for permission in db.session.scalars(select(DealerPermission).where(
            DealerPermission.dealer_user_id == dealer.id)):
        permission.level = level if permission.hospital_id == hospital_a.id else 9
    db.session.commit()
    return hospital_a


def dealer_view_permissions() -> set[str]:
    return {view for permission, view in ROLE_PERMISSIONS["DealerUser"] if permission != "menu_access"}


def test_every_dealer_screen_names_its_capability(app):
    """A hospital screen reaches dealers by itself (DealerUser mirrors HospitalUser): it must say
    which capability it checks (app.access.capabilities.SCREEN_CAPABILITIES), so the sweep below
    can prove the levels without it are refused."""
    missing = sorted(dealer_view_permissions() - set(SCREEN_CAPABILITIES) - set(DEALER_FREE_VIEWS))
    assert not missing, (f"views dealers can reach with no capability declared: {missing} — add them "
                         f"to SCREEN_CAPABILITIES (or DEALER_FREE_VIEWS in this test, with a reason)")


@pytest.mark.parametrize("level", DEALER_LEVELS)
def test_dealer_level_sweep(app, client, level):
    """Every endpoint of every dealer-reachable view, as a dealer acting for hospital A at
    ``level``: a view whose capability the level lacks refuses (no 2xx, A's rows unchanged)."""
    with app.app_context():
        hospital_a = set_dealer_level(level)
        objects, markers_a = build_objects(hospital_a, "A")
        a_users = [u.id for u in db.session.scalars(select(User).where(User.organization_id == hospital_a.id))]
        granted = level_capabilities(level)
        reachable = dealer_view_permissions()
        login_as(client, DEALER)
        failures, refused_checked = [], 0
        for rule in all_rules():
            if is_public(rule.endpoint) or rule.endpoint in NOT_REQUESTED:
                continue
            view = view_of(rule.endpoint)
            permission = getattr(view, "class_permission_name", None)
            if permission not in reachable:
                continue  # FAB refuses DealerUser there: the role matrix above covers it
            needed = SCREEN_CAPABILITIES.get(permission)
            lacking = needed is not None and needed not in granted
            for args in resolve_args(rule, view, objects):
                url = _build(rule, args)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    before = snapshot(hospital_a.id, a_users) if lacking else None
                    try:
                        response = _request(client, method, url, _form(objects, hospital_a.id), hospital_a.id)
                    except Exception as error:  # TESTING propagates what would be a 500
                        failures.append(f"level {level} {method} {url}: server error {error!r}")
                        db.session.rollback()
                        continue
                    where = f"level {level} {method} {url} ({rule.endpoint}) → {response.status_code}"
                    if response.status_code >= 500:
                        failures.append(f"{where}: server error")
                    if not lacking:
                        continue
                    refused_checked += 1
                    if 200 <= response.status_code < 300:
                        failures.append(f"{where}: answers without capability {needed}")
                    shown = [m for m in markers_a if m.encode() in readable(response.get_data())]
                    if shown:
                        failures.append(f"{where}: shows hospital A's data {shown} without {needed}")
                    db.session.expire_all()
                    if snapshot(hospital_a.id, a_users) != before:
                        failures.append(f"{where}: changed hospital A's rows without capability {needed}")
        if level != 3:
            assert refused_checked > 5
        assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- menus follow capabilities

MENU_USERS = {
    "admin": (ADMIN, None),
    "operator": (OPERATOR, None),
    "orgadmin_a": (ORGADMIN_A, None),
    "hospital_a": (HOSPITAL_A, None),
    "manufacturer": (MANUFACTURER, None),
    **{f"dealer_level_{level}": (DEALER, level) for level in DEALER_LEVELS},
}


def menu_links(html: str) -> list[str]:
    """The links of the navbar's menu (left part; the right holds language, account, logout)."""
    start = html.find('<ul class="nav navbar-nav">')
    end = html.find("navbar-right", start)
    assert start >= 0 and end > start, "no navbar menu on the page"
    return re.findall(r'href="(/[^"#]*)"', html[start:end])


@pytest.mark.parametrize("who", list(MENU_USERS))
def test_every_menu_link_opens(app, client, who):
    """Crawl: each role's and dealer level's menu offers only screens that answer 200."""
    email, level = MENU_USERS[who]
    if level is not None:
        with app.app_context():
            set_dealer_level(level)
    login_as(client, email)
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200
    links = menu_links(home.get_data(as_text=True))
    answers = {link: client.get(link).status_code for link in links}
    assert all(status == 200 for status in answers.values()), answers
    if who == "dealer_level_1":
        assert {"/upload/", "/reports/"} <= set(links)
        assert not {"/ledger/", "/report-selection/", "/classification-mapping/"} & set(links), links
    if who == "dealer_level_2":
        assert "/ledger/" in links and "/upload/" not in links
    if who == "admin":
        assert not any(link.startswith("/manufacturer/") for link in links), links
    if who == "manufacturer":
        assert {"/manufacturer/figures", "/manufacturer/selection"} <= set(links)
