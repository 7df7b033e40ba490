"""SQLAlchemy models, one module per area. Importing this package registers every table."""
import app.core.search  # noqa: F401  (the os_fold SQL function of every search, on every connection)
import app.models.search_indexes  # noqa: F401  (the searches' trigram indexes, created after os_fold)
from app.models.api import ApiKeyDailyUse, IdempotencyRecord, ReportNotice
from app.models.audit import AuditEvent
from app.models.classification import Classification, Maker, MakerAlias, ReportSelection
from app.models.dealer import (
    DealerLevel,
    DealerPermission,
    DealerPermissionHistory,
    ManufacturerSelection,
)
from app.models.equipment import Equipment, EquipmentChange, Failure, LedgerListing, Lending
from app.models.figures import FiguresChange, StoredFigures
from app.models.files import (
    ColumnProfile,
    Download,
    ReportFile,
    ReportType,
    ReportVersion,
    UploadFile,
    UploadStatus,
    UploadType,
)
from app.models.organization import Organization, OrganizationKind
from app.models.sync import SyncChange
from app.models.user import InactiveReason, Invitation, RecoveryCode, User, UserStatus

__all__ = [
    "ApiKeyDailyUse", "IdempotencyRecord", "ReportNotice",
    "AuditEvent", "Classification", "ColumnProfile", "DealerLevel", "DealerPermission",
    "DealerPermissionHistory", "ManufacturerSelection", "Download", "Equipment",
    "EquipmentChange", "Failure", "FiguresChange", "StoredFigures", "InactiveReason", "Invitation",
    "LedgerListing", "Lending", "Maker",
    "MakerAlias", "Organization", "OrganizationKind", "RecoveryCode", "ReportFile", "ReportSelection",
    "ReportType", "ReportVersion", "SyncChange", "UploadFile", "UploadStatus", "UploadType", "User", "UserStatus",
]
