"""SQLAlchemy models, one module per area. Importing this package registers every table."""
import app.core.search  # noqa: F401  (the os_fold SQL function of every search, on every connection)
from .api import ApiKeyDailyUse, IdempotencyRecord, ReportNotice
from .audit import AuditEvent
from .classification import Classification, Maker, MakerAlias, ReportSelection
from .dealer import (
    DealerLevel,
    DealerPermission,
    DealerPermissionHistory,
    ManufacturerSelection,
)
from .equipment import Equipment, EquipmentChange, Failure, LedgerListing, Lending
from .files import (
    ColumnProfile,
    Download,
    ReportFile,
    ReportType,
    ReportVersion,
    UploadFile,
    UploadStatus,
    UploadType,
)
from .organization import Organization, OrganizationKind
from .user import InactiveReason, Invitation, RecoveryCode, User, UserStatus

__all__ = [
    "ApiKeyDailyUse", "IdempotencyRecord", "ReportNotice",
    "AuditEvent", "Classification", "ColumnProfile", "DealerLevel", "DealerPermission",
    "DealerPermissionHistory", "ManufacturerSelection", "Download", "Equipment",
    "EquipmentChange", "Failure", "InactiveReason", "Invitation", "LedgerListing", "Lending", "Maker",
    "MakerAlias", "Organization", "OrganizationKind", "RecoveryCode", "ReportFile", "ReportSelection",
    "ReportType", "ReportVersion", "UploadFile", "UploadStatus", "UploadType", "User", "UserStatus",
]
