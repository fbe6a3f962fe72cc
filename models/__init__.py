"""Storage: SQLModel tables, the engine and sessions. Importing this package arms the state guard."""

from models import guard as _guard  # noqa: F401  (registers the listeners)
from models import office as _office  # noqa: F401  (the office's tables)
from models.delivery import ChannelRate, NoticeChannel, NoticePreference
from models.tables import (
    Attachment,
    Blob,
    CodeCounter,
    DirectoryStamp,
    Event,
    Inspection,
    InspectionProblem,
    Lease,
    Notice,
    Problem,
    Project,
    Unit,
    UploadStage,
    User,
)

__all__ = [
    "ChannelRate",
    "NoticeChannel",
    "NoticePreference",
    "Attachment",
    "Blob",
    "CodeCounter",
    "DirectoryStamp",
    "Event",
    "Inspection",
    "InspectionProblem",
    "Lease",
    "Notice",
    "Problem",
    "Project",
    "Unit",
    "UploadStage",
    "User",
]
