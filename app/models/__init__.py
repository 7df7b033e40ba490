"""SQLAlchemy models, one module per area. Importing this package registers every table."""
from .audit import AuditEvent
from .organization import Organization, OrganizationKind
from .user import Invitation, User, UserStatus, InactiveReason

__all__ = [
    "AuditEvent",
    "InactiveReason",
    "Invitation",
    "Organization",
    "OrganizationKind",
    "User",
    "UserStatus",
]
