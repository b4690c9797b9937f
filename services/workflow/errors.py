"""The workflow's refusals: each carries its HTTP status and an Indonesian message (and, for a
guard that does not hold, the list of what is missing)."""

from __future__ import annotations


class WorkflowError(Exception):
    status = 409

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(WorkflowError):
    status = 404

    def __init__(self, what: str = "Data") -> None:
        super().__init__(f"{what} tidak ditemukan.")


class NotAllowed(WorkflowError):
    status = 403


class Conflict(WorkflowError):
    status = 409


class GuardFailed(Conflict):
    """The step's output is not there yet; `details` says what is missing."""


class Invalid(WorkflowError):
    status = 422
