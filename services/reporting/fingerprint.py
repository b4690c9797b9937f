"""A report's fingerprint: the SHA-256 of everything its artifacts are made of (the gathered
content and the renderer's version). Same inputs, same fingerprint, same object keys: a rebuild
or a redelivered task reuses the artifacts instead of writing them twice."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from services.reporting.content import CityRecapContent, CycleReportContent


def fingerprint(content: CycleReportContent | CityRecapContent, *, renderer_version: str) -> str:
    document = {"renderer": renderer_version, "kind": type(content).__name__,
                "content": dataclasses.asdict(content)}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(canonical.encode()).hexdigest()


def artifact_keys(*, tenant_id: uuid.UUID | None, cycle_id: uuid.UUID | None, year: int,
                  fingerprint: str) -> dict[str, str]:
    """Where the artifacts of these inputs live: under the tenant's (and cycle's) prefix for a
    cycle report, under the city's for a recap. Never built from user-supplied names."""
    if tenant_id is not None and cycle_id is not None:
        prefix = f"tenants/{tenant_id}/cycles/{cycle_id}/reports/{fingerprint}"
    else:
        prefix = f"city/recaps/{int(year)}/{fingerprint}"
    return {"pdf": f"{prefix}.pdf", "xlsx": f"{prefix}.xlsx"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")
