"""The first Admin of a new instance (production has no demo accounts).

``flask optiserve create-admin --email … --name …`` creates the operator organization if
none exists, a temporary Admin user without password, and a one-time first-login link
(the invitation mechanism of app/invitations.py): the operator opens it, sets the password
and enrolls the second factor. Running it again for a user who has not logged in yet
issues a new link; an account already in use is refused.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func

from app.core.validation import email_domain_allowed, email_error, normalize_email
from app.extensions import db
from app.models import Organization, OrganizationKind, User, UserStatus
from app.services.accounts import invitations
from app.services.audit import trail as audit

DEFAULT_CODE = "OP0001"
DEFAULT_NAME = "SMDS運営事務局"


class FirstAdminError(ValueError):
    """The command cannot create the account; the message says why."""


def _operator(code: str, name: str, domain: str) -> Organization:
    organization = db.session.query(Organization).filter_by(code=code).one_or_none()
    if organization is None:
        organization = Organization(code=code, kind=OrganizationKind.operator.value, name=name,
                                    allowed_email_domains=domain)
        db.session.add(organization)
        db.session.flush()
        audit.record("organization.create", organization, actor_email="cli:create-admin",
                     changes={"code": [None, code], "kind": [None, organization.kind]})
        return organization
    if organization.kind != OrganizationKind.operator.value:
        raise FirstAdminError(f"organization {code} is a {organization.kind}, not the operator")
    if not email_domain_allowed(f"x@{domain}", organization.allowed_domain_list):
        raise FirstAdminError(
            f"organization {code} allows e-mail domains {', '.join(organization.allowed_domain_list)} "
            f"only, not {domain}")
    return organization


def create_first_admin(email: str, name: str, code: str = DEFAULT_CODE,
                       organization_name: str = DEFAULT_NAME) -> tuple[User, str]:
    """The (new or still temporary) Admin and its one-time first-login link. Commits."""
    email = normalize_email(email)
    name = (name or "").strip()
    if email_error(email):
        raise FirstAdminError(f"not a valid e-mail address: {email!r}")
    if not name:
        raise FirstAdminError("--name must not be empty")
    role = current_app.appbuilder.sm.find_role("Admin")
    if role is None:
        raise FirstAdminError("the Admin role does not exist: run `flask optiserve sync-roles` first")
    organization = _operator(code, organization_name, email.rsplit("@", 1)[1])
    user = db.session.query(User).filter(func.lower(User.email) == email).one_or_none()
    if user is not None and (user.status != UserStatus.temporary or user.password):
        raise FirstAdminError(f"{email} already has an account in use; it is not changed")
    if user is None:
        user = User(first_name=name, last_name="", username=email, email=email, active=True,
                    status=UserStatus.temporary, password=None, organization=organization,
                    roles=[role])
        db.session.add(user)
        db.session.flush()
        audit.record("user.create", user, actor_email="cli:create-admin",
                     changes={"email": [None, email], "roles": [None, ["Admin"]]})
    elif role not in user.roles:
        raise FirstAdminError(f"{email} exists without the Admin role; it is not changed")
    link = invitations.create_link(user)
    db.session.commit()
    return user, link
