"""The request's side of the audit trail: who and from where (for
:func:`app.services.audit.trail.record`), and an event for every refused (403) request."""
from __future__ import annotations

from flask import g, has_request_context, request

from app.access.roles import is_dealer_user
from app.access.scope import current_scope
from app.extensions import db
from app.services.audit import trail


def request_origin() -> trail.Origin | None:
    """The signed-in user and the client address (after ProxyFix has applied
    ``TRUSTED_PROXY_COUNT``), and the hospital a dealer acts for; None outside a request."""
    if not has_request_context():
        return None
    actor = getattr(g, "user", None)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return trail.Origin(actor=actor, ip=request.remote_addr, acting=acting_of(actor))


def acting_of(actor) -> trail.Acting | None:
    """The hospital the request's dealer user acts for (session or API key), else None."""
    # read with the caller's half-made change left unflushed: recording must not write it
    with db.session.no_autoflush:
        if actor is None or not is_dealer_user(actor):
            return None
        hospital_id = current_scope().dealer_hospital_id
        if hospital_id is None:
            return None
        organization = actor.organization
        return trail.Acting(hospital_id, f"{organization.name}（{organization.code}）")


def note_recorded(action: str) -> None:
    if has_request_context():
        g.setdefault("audit_actions", []).append(action)


def audit_refused_request(response):
    """``after_request``: every 403 answered to a signed-in user is audited — FAB's
    ``has_access`` / ``protect`` refusals and the app's own capability checks alike — unless
    the refusal was already audited more precisely (e.g. ``policy.ip_refused``); a dealer's
    refusal while acting for a hospital is in the dealer's log and in the hospital's."""
    if response.status_code != 403:
        return response
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return response
    if any(action.endswith("refused") for action in g.get("audit_actions", [])):
        return response
    changes = {"method": request.method, "path": request.path[:500], "endpoint": request.endpoint}
    trail.record_apart("access.refused", organization_id=getattr(user, "organization_id", None),
                       changes=changes)
    acting = acting_of(user)
    if acting is not None:
        # a dealer refused while acting for a hospital tried something in the hospital's
        # name: its administrators see the attempt too (the row names the dealer's company)
        trail.record_apart("access.refused", organization_id=acting.hospital_id, changes=changes)
    return response


def init_app(app) -> None:
    trail.origin_provider = request_origin
    trail.note_recorded = note_recorded
    app.after_request(audit_refused_request)
