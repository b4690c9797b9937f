"""A service API's refusals (workflow, reporting): each carries its HTTP status and an Indonesian
message (and, for a guard that does not hold, the list of what is missing)."""

from __future__ import annotations


class ServiceError(Exception):
    status = 409

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(ServiceError):
    status = 404

    def __init__(self, what: str = "Data") -> None:
        super().__init__(f"{what} tidak ditemukan.")


class NotAllowed(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class GuardFailed(Conflict):
    """The step's output is not there yet; `details` says what is missing."""


class Invalid(ServiceError):
    status = 422


WorkflowError = ServiceError  # the name the workflow's modules have used
