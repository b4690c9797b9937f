"""The portal's calls to the reporting REST API (settings.reporting_url + /api/v1/...): the LKE
of a cycle, its reports and the city recaps, on the signed-in user's behalf (the plumbing,
service token included, is `service_client`'s).

A refusal of the reporting service is raised as `ReportingCallError` with its status, Indonesian
message, `details` (e.g. the criteria still unanswered at finalisation) and `fields` (422); a
reporting service that cannot be reached is a 503 with a message a civil servant understands.
"""

from __future__ import annotations

from typing import ClassVar

from services.intake.service_client import (
    TIMEOUT_SECONDS,
    ServiceCallError,
    ServiceClient,
    ServiceWords,
)
from shared.config import Settings
from shared.identity.principal import Principal

UNREACHABLE_MESSAGE = ("Layanan laporan evaluasi sedang tidak dapat dihubungi. Tidak ada yang "
                       "berubah; silakan coba lagi sebentar lagi.")
REFUSED_LOGIN_MESSAGE = ("Portal tidak dapat masuk ke layanan laporan evaluasi. Tidak ada yang "
                         "berubah; hubungi administrator.")
WORDS = ServiceWords(name="reporting", unreachable=UNREACHABLE_MESSAGE,
                     refused_login=REFUSED_LOGIN_MESSAGE)


class ReportingCallError(ServiceCallError):
    """The reporting service refused the call, or could not be reached (503)."""


class ReportingClient(ServiceClient):
    """The reporting API as one user sees it."""

    error: ClassVar[type[ServiceCallError]] = ReportingCallError
    words: ClassVar[ServiceWords] = WORDS

    def __init__(self, settings: Settings, principal: Principal, *,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__(settings.reporting_url, settings, principal, timeout=timeout)
