"""Imports every model module so Base.metadata knows every table (for Alembic and tests)."""

from shared.audit import AuditEntry
from shared.cycles.models import (
    CalendarHoliday,
    CollectionExtension,
    Cycle,
    CycleRequirement,
    CycleStep,
    SopTemplate,
    TenantCalendar,
)
from shared.documents.models import DocumentVersion, ItemReview, Submission, SubmissionItem
from shared.events.models import InboxEntry, OutboxEvent
from shared.identity.models import ApiToken, Bidang, LoginSession, RoleGrant, Tenant, User
from shared.reporting.models import Evaluation, EvaluationAnswer, Report, ReportReceipt, Rubric

__all__ = [
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
    "InboxEntry",
    "ItemReview",
    "LoginSession",
    "OutboxEvent",
    "Report",
    "ReportReceipt",
    "RoleGrant",
    "Rubric",
    "SopTemplate",
    "Submission",
    "SubmissionItem",
    "Tenant",
    "TenantCalendar",
    "User",
]
