"""Imports every model module so Base.metadata knows every table (for Alembic and tests)."""

from shared.audit import AuditEntry
from shared.cycles.models import (
    CalendarHoliday,
    CollectionExtension,
    Cycle,
    CycleRequirement,
    CycleStep,
    SopTemplate,
    SopTemplateTenant,
    TenantCalendar,
)
from shared.documents.models import DocumentVersion, ItemReview, Submission, SubmissionItem
from shared.events.models import InboxEntry, OutboxEvent
from shared.identity.models import (
    AccountLink,
    ApiToken,
    Bidang,
    ImportBatch,
    LoginSession,
    RoleGrant,
    Tenant,
    User,
)
from shared.reporting.models import (
    Evaluation,
    EvaluationAnswer,
    Report,
    ReportReceipt,
    Rubric,
    RubricTenant,
)

__all__ = [
    "AccountLink",
    "ApiToken",
    "AuditEntry",
    "Bidang",
    "CalendarHoliday",
    "CollectionExtension",
    "Cycle",
    "CycleRequirement",
    "CycleStep",
    "DocumentVersion",
    "Evaluation",
    "EvaluationAnswer",
    "ImportBatch",
    "InboxEntry",
    "ItemReview",
    "LoginSession",
    "OutboxEvent",
    "Report",
    "ReportReceipt",
    "RoleGrant",
    "Rubric",
    "RubricTenant",
    "SopTemplate",
    "SopTemplateTenant",
    "Submission",
    "SubmissionItem",
    "Tenant",
    "TenantCalendar",
    "User",
]
